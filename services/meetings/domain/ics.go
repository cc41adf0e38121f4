package domain

import (
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/ecabinet/ecabinet/services/platform/unaccent"
)

// InvitationItem is one agenda line of an invitation.
type InvitationItem struct {
	Title     string
	Presenter string
	Minutes   int
}

// Invitation is what the calendar file says about a meeting.
type Invitation struct {
	MeetingID string
	Title     string
	Place     string
	Online    bool
	Start     time.Time
	// End is the planned end; zero when the meeting has none (the event
	// then lasts the agenda's total time, or an hour).
	End       time.Time
	Agenda    []InvitationItem
	Cancelled bool
	// Sequence orders revisions of the same event (the meeting version), so
	// a calendar replaces an older import instead of duplicating it.
	Sequence int64
	// Stamp is when the file was made (DTSTAMP).
	Stamp time.Time
}

const icsTime = "20060102T150405Z"

// Calendar renders inv as an RFC 5545 iCalendar object with one VEVENT:
// CRLF line ends, TEXT values escaped, lines folded at 75 octets.
func Calendar(inv Invitation) string {
	end := inv.End
	if end.IsZero() {
		total := 0
		for _, it := range inv.Agenda {
			total += it.Minutes
		}
		if total == 0 {
			total = 60
		}
		end = inv.Start.Add(time.Duration(total) * time.Minute)
	}
	location := inv.Place
	if location == "" && inv.Online {
		location = "Trực tuyến"
	}
	status := "CONFIRMED"
	if inv.Cancelled {
		status = "CANCELLED"
	}

	lines := []string{
		"BEGIN:VCALENDAR",
		"VERSION:2.0",
		"PRODID:-//ecabinet//meetings//VI",
		"CALSCALE:GREGORIAN",
		"METHOD:PUBLISH",
		"BEGIN:VEVENT",
		"UID:" + inv.MeetingID + "@ecabinet",
		"DTSTAMP:" + inv.Stamp.UTC().Format(icsTime),
		"DTSTART:" + inv.Start.UTC().Format(icsTime),
		"DTEND:" + end.UTC().Format(icsTime),
		fmt.Sprintf("SEQUENCE:%d", inv.Sequence),
		"STATUS:" + status,
		"SUMMARY:" + EscapeText(inv.Title),
	}
	if location != "" {
		lines = append(lines, "LOCATION:"+EscapeText(location))
	}
	lines = append(lines, "DESCRIPTION:"+EscapeText(describeInvitation(inv)), "END:VEVENT", "END:VCALENDAR")

	var b strings.Builder
	for _, l := range lines {
		b.WriteString(FoldLine(l))
		b.WriteString("\r\n")
	}
	return b.String()
}

// describeInvitation is the event's description: the agenda, in Vietnamese
// like the rest of the product's documents.
func describeInvitation(inv Invitation) string {
	var b strings.Builder
	if inv.Online {
		b.WriteString("Có thể tham dự trực tuyến.\n")
	}
	if len(inv.Agenda) == 0 {
		b.WriteString("Chương trình họp sẽ được thông báo sau.")
		return b.String()
	}
	b.WriteString("Chương trình họp:")
	for i, it := range inv.Agenda {
		fmt.Fprintf(&b, "\n%d. %s", i+1, it.Title)
		var extra []string
		if it.Presenter != "" {
			extra = append(extra, "trình bày: "+it.Presenter)
		}
		if it.Minutes > 0 {
			extra = append(extra, fmt.Sprintf("%d phút", it.Minutes))
		}
		if len(extra) > 0 {
			b.WriteString(" (" + strings.Join(extra, ", ") + ")")
		}
	}
	return b.String()
}

// EscapeText escapes a TEXT value (RFC 5545 §3.3.11): backslash, semicolon
// and comma get a backslash, line breaks become "\n"; carriage returns and
// other control characters (not allowed in TEXT) are dropped.
func EscapeText(s string) string {
	var b strings.Builder
	for _, r := range strings.ReplaceAll(s, "\r\n", "\n") {
		switch {
		case r == '\\', r == ';', r == ',':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case unicode.IsControl(r) && r != '\t':
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// maxLineOctets is RFC 5545's limit on a content line, CRLF excluded.
const maxLineOctets = 75

// FoldLine splits a content line longer than 75 octets (§3.1): each
// continuation starts with one space, which counts toward its 75 octets.
// It splits only between characters, never inside a UTF-8 sequence.
func FoldLine(line string) string {
	if len(line) <= maxLineOctets {
		return line
	}
	var b strings.Builder
	limit := maxLineOctets
	n := 0 // octets on the current physical line
	for _, r := range line {
		size := utf8.RuneLen(r) // what WriteRune writes, RuneError included
		if n+size > limit {
			b.WriteString("\r\n ")
			n = 1
		}
		b.WriteRune(r)
		n += size
	}
	return b.String()
}

// FileName turns a meeting title into a portable file name: Vietnamese
// letters without diacritics, lower case, words joined by hyphens
// ("Họp Ban Thường vụ" -> "hop-ban-thuong-vu.ics").
func FileName(title, ext string) string {
	const maxLen = 80
	var b strings.Builder
	hyphen := false
	for _, r := range unaccent.Fold(title) {
		if r < utf8.RuneSelf && (unicode.IsLetter(r) || unicode.IsDigit(r)) {
			if hyphen && b.Len() > 0 {
				b.WriteByte('-')
			}
			hyphen = false
			b.WriteRune(r)
			if b.Len() >= maxLen {
				break
			}
			continue
		}
		hyphen = true
	}
	name := b.String()
	if name == "" {
		name = "cuoc-hop"
	}
	return name + ext
}
