// Package unaccent takes the diacritics off Vietnamese text, for search keys
// ("nguyen van an" finds "Nguyễn Văn An") and ASCII stand-ins of file names.
package unaccent

import (
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// String removes tone marks and the breve, circumflex and horn, and writes
// đ/Đ as d/D; case is kept: "Đảng ủy" → "Dang uy".
func String(s string) string {
	var b strings.Builder
	for _, r := range norm.NFD.String(s) {
		switch {
		case unicode.Is(unicode.Mn, r):
			// A combining mark: the letter it decorates was written.
		case r == 'đ':
			// Đ is a letter of its own, not D with a mark, so NFD keeps it.
			b.WriteByte('d')
		case r == 'Đ':
			b.WriteByte('D')
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// Fold is the search key of a name: String in lower case, words separated
// by single spaces. "Nguyễn Văn An", "NGUYỄN  VĂN AN" and "nguyen van an"
// all fold to "nguyen van an".
func Fold(s string) string {
	return strings.Join(strings.Fields(strings.ToLower(String(s))), " ")
}
