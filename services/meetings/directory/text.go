package directory

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/ecabinet/ecabinet/services/platform/rpcerr"
	"golang.org/x/text/unicode/norm"
)

// Reasons of our own, next to rpcerr's shared ones. They are stable codes
// the gateway translates, so they must not change once published.
const (
	reasonInvalidCharacter = "INVALID_CHARACTER"
	reasonOutOfRange       = "OUT_OF_RANGE"
	reasonOutOfOrder       = "OUT_OF_ORDER"
	reasonTooShort         = "TOO_SHORT"
	reasonSameAsUsername   = "SAME_AS_USERNAME"
	reasonNotAllowed       = "NOT_ALLOWED"
	reasonIncorrect        = "INCORRECT"
)

// Limits on free text, counted in characters (runes) after normalisation.
const (
	maxNameLen      = 200
	maxOrgNameLen   = 300
	maxEmailLen     = 254
	maxPhoneLen     = 32
	maxCardLen      = 32
	maxQueryLen     = 100
	maxUserAgentLen = 512
	maxAddressLen   = 128
)

// normalize trims surrounding white space and composes the text (NFC).
// Vietnamese keyboards and copy-paste from PDFs or Excel produce both
// precomposed and decomposed diacritics; storing one form keeps equality,
// sorting, search and length limits consistent.
func normalize(s string) string {
	return norm.NFC.String(strings.TrimSpace(s))
}

// normalizeName is normalize plus single spaces between words: names pasted
// from spreadsheets often carry doubled or non-breaking spaces, which would
// make the same person look like two.
func normalizeName(s string) string {
	return norm.NFC.String(strings.Join(strings.Fields(s), " "))
}

// checkText applies the rules shared by single-line text fields: an
// optional presence check, a length limit and no control characters (a
// line break in a name breaks lists, minutes and exports).
func checkText(field, s string, max int, required bool) []rpcerr.Violation {
	if s == "" {
		if required {
			return []rpcerr.Violation{{Field: field, Reason: rpcerr.ReasonRequired, Description: "must not be empty"}}
		}
		return nil
	}
	var vs []rpcerr.Violation
	if n := utf8.RuneCountInString(s); n > max {
		vs = append(vs, rpcerr.Violation{Field: field, Reason: rpcerr.ReasonTooLong,
			Description: fmt.Sprintf("must be at most %d characters, got %d", max, n)})
	}
	if strings.IndexFunc(s, unicode.IsControl) >= 0 {
		vs = append(vs, rpcerr.Violation{Field: field, Reason: reasonInvalidCharacter,
			Description: "must not contain control characters such as line breaks"})
	}
	return vs
}

// checkEmail accepts the common shape local@domain.tld; it is a contact
// detail, not a login, so anything stricter would only annoy.
func checkEmail(field, s string) []rpcerr.Violation {
	if vs := checkText(field, s, maxEmailLen, false); len(vs) > 0 || s == "" {
		return vs
	}
	if !validEmail(s) {
		return []rpcerr.Violation{{Field: field, Reason: rpcerr.ReasonInvalidFormat, Description: "must be an e-mail address such as ten@example.vn"}}
	}
	return nil
}

func validEmail(s string) bool {
	local, domain, ok := strings.Cut(s, "@")
	return ok && local != "" && strings.Contains(domain, ".") && !strings.ContainsAny(s, " \t,;<>\"") &&
		!strings.Contains(domain, "@") && !strings.HasPrefix(domain, ".") && !strings.HasSuffix(domain, ".")
}

// checkPhone accepts digits with the usual separators and an optional
// leading +, between 8 and 15 digits (E.164's maximum).
func checkPhone(field, s string) []rpcerr.Violation {
	if vs := checkText(field, s, maxPhoneLen, false); len(vs) > 0 || s == "" {
		return vs
	}
	if !validPhone(s) {
		return []rpcerr.Violation{{Field: field, Reason: rpcerr.ReasonInvalidFormat, Description: "must be a telephone number of 8 to 15 digits"}}
	}
	return nil
}

func validPhone(s string) bool {
	digits := 0
	for i, r := range s {
		switch {
		case r >= '0' && r <= '9':
			digits++
		case r == '+' && i == 0, r == ' ', r == '.', r == '-', r == '(', r == ')':
		default:
			return false
		}
	}
	return digits >= 8 && digits <= 15
}

// normalizeCard removes the spaces people type inside party card numbers
// and upper-cases any letters, so "12 345 678" and "12345678" are the same
// card, as are "ab-1" and "AB-1".
func normalizeCard(s string) string {
	return strings.ToUpper(strings.Join(strings.Fields(norm.NFC.String(s)), ""))
}

func checkCard(field, s string) []rpcerr.Violation {
	if vs := checkText(field, s, maxCardLen, false); len(vs) > 0 || s == "" {
		return vs
	}
	if !validCard(s) {
		return []rpcerr.Violation{{Field: field, Reason: rpcerr.ReasonInvalidFormat, Description: "may contain only digits, Latin letters, '.', '-' and '/'"}}
	}
	return nil
}

func validCard(s string) bool {
	for _, r := range s {
		if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r == '.' || r == '-' || r == '/') {
			return false
		}
	}
	return true
}
