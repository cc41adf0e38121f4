// Package disposition builds Content-Disposition headers (RFC 6266) for
// file names that are usually Vietnamese: filename* carries the name
// exactly (RFC 8187, UTF-8); filename an ASCII stand-in for clients that
// ignore filename*.
package disposition

import (
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"

	"github.com/ecabinet/ecabinet/services/platform/unaccent"
)

// Attachment asks the browser to save the file.
func Attachment(name string) string { return header("attachment", name) }

// Inline asks the browser to show the file.
func Inline(name string) string { return header("inline", name) }

func header(kind, name string) string {
	// No path parts or control characters, whatever the name came from.
	name = strings.Map(func(r rune) rune {
		if r == '/' || r == '\\' || unicode.IsControl(r) {
			return '_'
		}
		return r
	}, norm.NFC.String(name))
	return kind + `; filename="` + ascii(name) + `"; filename*=UTF-8''` + encodeRFC8187(name)
}

// ascii folds Vietnamese to plain letters ("Báo cáo Đảng ủy" →
// "Bao_cao_Dang_uy") and replaces anything else unsafe in a quoted value.
func ascii(name string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x80 && (unicode.IsLetter(r) || unicode.IsDigit(r) || strings.ContainsRune("._-()", r)) {
			return r
		}
		return '_'
	}, unaccent.String(name))
}

// encodeRFC8187 percent-encodes every byte outside RFC 8187's attr-char.
func encodeRFC8187(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x80 && (c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$&+-.^_`|~", c) >= 0) {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&0xf])
	}
	return b.String()
}
