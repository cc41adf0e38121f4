package gateway

import (
	"net/http"
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"

	"github.com/ecabinet/ecabinet/gateway/problem"
	meetingsv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/meetings/v1"
)

// invitationICS serves GET /api/v1/meetings/{meeting_id}/invitation.ics:
// the invitation as a calendar file the tablet hands to its calendar app.
// The JSON form of the same RPC stays at .../invitation (grpc-gateway).
func (g *Gateway) invitationICS(w http.ResponseWriter, r *http.Request) {
	resp, err := g.meetings.GetInvitationCalendar(r.Context(), &meetingsv1.GetInvitationCalendarRequest{MeetingId: r.PathValue("meeting_id")})
	if err != nil {
		problem.WriteError(w, r, err)
		return
	}
	name := resp.GetFileName()
	if name == "" {
		name = "invitation.ics"
	}
	w.Header().Set("Content-Type", "text/calendar; charset=utf-8")
	w.Header().Set("Content-Disposition", attachment(name))
	// The invitation names people and places: no shared caches.
	w.Header().Set("Cache-Control", "private, no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	_, _ = w.Write([]byte(resp.GetIcs()))
}

// attachment builds a Content-Disposition header (RFC 6266) for a file name
// that is usually Vietnamese: filename* carries it exactly (RFC 8187,
// UTF-8), filename an ASCII stand-in for clients that ignore filename*.
func attachment(name string) string {
	name = strings.Map(func(r rune) rune {
		if r == '/' || r == '\\' || unicode.IsControl(r) {
			return '_'
		}
		return r
	}, norm.NFC.String(name))
	return `attachment; filename="` + asciiFileName(name) + `"; filename*=UTF-8''` + encodeRFC8187(name)
}

// asciiFileName folds Vietnamese to plain letters ("Họp Ban Thường vụ" →
// "Hop_Ban_Thuong_vu") and replaces anything else unsafe in a quoted header
// value.
func asciiFileName(name string) string {
	var b strings.Builder
	for _, r := range norm.NFD.String(name) {
		switch {
		case unicode.Is(unicode.Mn, r):
			// a combining mark: the letter it decorates was written
		case r == 'đ':
			b.WriteByte('d')
		case r == 'Đ':
			b.WriteByte('D')
		case r < 0x80 && (unicode.IsLetter(r) || unicode.IsDigit(r) || strings.ContainsRune("._-", r)):
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	return b.String()
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
