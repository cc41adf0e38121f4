package documents

import (
	"path"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// maxFileNameBytes bounds a stored file name: the usual limit of file
// systems, so a download saves under the name we show.
const maxFileNameBytes = 255

// cleanFileName turns the name a client sent into one that is safe to
// store and to offer as a download name: NFC (so "ễ" typed on a Mac and on
// Windows is one string), the last path element only (no "../", no
// "C:\..."), no control or bidi-override characters (which can disguise
// "exe.pdf" as "fdp.exe"), none of the characters Windows forbids, no
// leading or trailing dots and spaces, at most 255 bytes with the extension
// kept. Vietnamese letters stay as typed. It returns "" when nothing usable
// is left.
func cleanFileName(name string) string {
	name = norm.NFC.String(name)
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	name = strings.Map(func(r rune) rune {
		switch {
		case r == utf8.RuneError:
			return -1
		case unicode.Is(unicode.Cc, r), unicode.Is(unicode.Cf, r):
			return -1
		case strings.ContainsRune(`<>:"|?*`, r):
			return '_'
		case unicode.IsSpace(r):
			// No-break and other spaces become a plain one.
			return ' '
		}
		return r
	}, name)
	name = strings.Trim(name, ". ")
	if len(name) <= maxFileNameBytes {
		return name
	}
	ext := path.Ext(name)
	if len(ext) > 16 || len(ext) >= maxFileNameBytes {
		ext = "" // not an extension worth keeping, just a dot in a long name
	}
	stem := truncateUTF8(strings.TrimSuffix(name, ext), maxFileNameBytes-len(ext))
	return strings.TrimRight(stem, ". ") + ext
}

// truncateUTF8 cuts s to at most n bytes without splitting a character or
// separating a letter from the combining marks that follow it.
func truncateUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := 0
	for i, r := range s {
		if i > n {
			break
		}
		if !unicode.Is(unicode.Mn, r) {
			cut = i // a boundary before a base character
		}
	}
	return s[:cut]
}

// withExtension makes name end in one of exts (lower-case, with the dot,
// canonical first): a name that already does is kept; one ending in the
// extension of another accepted type gets it replaced (a PDF named
// "x.docx" is stored as "x.pdf"), anything else gets the canonical
// extension appended. The name stays within maxFileNameBytes.
func withExtension(name string, exts []string) string {
	ext := strings.ToLower(path.Ext(name))
	for _, e := range exts {
		if ext == e {
			return name
		}
	}
	if knownExtension(ext) {
		name = strings.TrimSuffix(name, path.Ext(name))
	}
	want := exts[0]
	name = truncateUTF8(name, maxFileNameBytes-len(want))
	name = strings.TrimRight(name, ". ")
	if name == "" {
		name = "tai-lieu"
	}
	return name + want
}
