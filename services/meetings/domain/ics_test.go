package domain

import (
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func TestEscapeText(t *testing.T) {
	for in, want := range map[string]string{
		"plain":                  "plain",
		"a,b;c\\d":               `a\,b\;c\\d`,
		"line1\nline2":           `line1\nline2`,
		"line1\r\nline2":         `line1\nline2`,
		"bell\x07":               "bell",
		`C:\path, "quoted"; end`: `C:\\path\, "quoted"\; end`,
		"Họp Ban Thường vụ":      "Họp Ban Thường vụ",
	} {
		if got := EscapeText(in); got != want {
			t.Errorf("EscapeText(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestFoldLine(t *testing.T) {
	short := "SUMMARY:" + strings.Repeat("a", 67) // exactly 75 octets
	if got := FoldLine(short); got != short {
		t.Errorf("75-octet line folded: %q", got)
	}
	long := "DESCRIPTION:" + strings.Repeat("Nghị quyết Đảng ủy khối, ", 20)
	folded := FoldLine(long)
	lines := strings.Split(folded, "\r\n")
	if len(lines) < 2 {
		t.Fatalf("long line not folded: %q", folded)
	}
	for i, l := range lines {
		if len(l) > 75 {
			t.Errorf("physical line %d has %d octets: %q", i, len(l), l)
		}
		if !utf8.ValidString(l) {
			t.Errorf("physical line %d splits a UTF-8 sequence: %q", i, l)
		}
		if i > 0 && !strings.HasPrefix(l, " ") {
			t.Errorf("continuation line %d does not start with a space: %q", i, l)
		}
	}
	// Unfolding (remove CRLF + one space) gives the line back.
	if got := strings.ReplaceAll(folded, "\r\n ", ""); got != long {
		t.Errorf("unfolded = %q, want %q", got, long)
	}
	// A multi-byte character that would straddle the limit moves whole to
	// the next line.
	edge := "X:" + strings.Repeat("a", 72) + "ệ" // 74 octets + 3
	if got := strings.Split(FoldLine(edge), "\r\n"); len(got) != 2 || got[1] != " ệ" {
		t.Errorf("edge fold = %q", got)
	}
}

func TestCalendar(t *testing.T) {
	start := time.Date(2026, 12, 15, 8, 30, 0, 0, Vietnam)
	inv := Invitation{
		MeetingID: "0193a6a2-0000-7000-8000-000000000009",
		Title:     "Họp Ban Thường vụ; tháng 12, năm 2026",
		Place:     `Phòng họp số 2, tầng 3\nhà A`,
		Start:     start,
		End:       start.Add(2 * time.Hour),
		Agenda: []InvitationItem{
			{Title: "Thông qua Nghị quyết về công tác xây dựng Đảng năm 2027, phương hướng nhiệm vụ", Presenter: "Nguyễn Văn An", Minutes: 30},
			{Title: "Việc khác"},
		},
		Sequence: 4,
		Stamp:    time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC),
	}
	ics := Calendar(inv)
	if !strings.HasSuffix(ics, "END:VCALENDAR\r\n") || strings.Contains(strings.ReplaceAll(ics, "\r\n", ""), "\n") {
		t.Fatalf("lines must end with CRLF only:\n%q", ics)
	}
	for _, l := range strings.Split(strings.TrimSuffix(ics, "\r\n"), "\r\n") {
		if len(l) > 75 {
			t.Errorf("line longer than 75 octets: %q", l)
		}
	}
	unfolded := strings.ReplaceAll(ics, "\r\n ", "")
	for _, want := range []string{
		"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//ecabinet//meetings//VI\r\n",
		"BEGIN:VEVENT\r\n",
		"UID:0193a6a2-0000-7000-8000-000000000009@ecabinet\r\n",
		"DTSTAMP:20261201T000000Z\r\n",
		"DTSTART:20261215T013000Z\r\n", // 08:30 in Vietnam is 01:30 UTC
		"DTEND:20261215T033000Z\r\n",
		"SEQUENCE:4\r\n",
		"STATUS:CONFIRMED\r\n",
		`SUMMARY:Họp Ban Thường vụ\; tháng 12\, năm 2026` + "\r\n",
		`LOCATION:Phòng họp số 2\, tầng 3\\nhà A` + "\r\n",
		`DESCRIPTION:Chương trình họp:\n1. Thông qua Nghị quyết về công tác xây dựng Đảng năm 2027\, phương hướng nhiệm vụ (trình bày: Nguyễn Văn An\, 30 phút)\n2. Việc khác` + "\r\n",
		"END:VEVENT\r\nEND:VCALENDAR\r\n",
	} {
		if !strings.Contains(unfolded, want) {
			t.Errorf("calendar lacks %q:\n%s", want, unfolded)
		}
	}

	// No planned end: the agenda's total time; online without a place.
	inv.End, inv.Place, inv.Online, inv.Cancelled = time.Time{}, "", true, true
	unfolded = strings.ReplaceAll(Calendar(inv), "\r\n ", "")
	for _, want := range []string{"DTEND:20261215T020000Z\r\n", "LOCATION:Trực tuyến\r\n", "STATUS:CANCELLED\r\n"} {
		if !strings.Contains(unfolded, want) {
			t.Errorf("calendar lacks %q:\n%s", want, unfolded)
		}
	}
	inv.Agenda = nil
	if !strings.Contains(Calendar(inv), "DTEND:20261215T023000Z\r\n") {
		t.Error("no end and no agenda: want one hour")
	}
}

func TestFileName(t *testing.T) {
	for in, want := range map[string]string{
		"Họp Ban Thường vụ":                     "hop-ban-thuong-vu.ics",
		"  Đảng ủy khối — Nghị quyết số 12/NQ ": "dang-uy-khoi-nghi-quyet-so-12-nq.ics",
		"<script>alert(1)</script>":             "script-alert-1-script.ics",
		"":                                      "cuoc-hop.ics",
		"日本":                                    "cuoc-hop.ics",
		strings.Repeat("a", 200):                strings.Repeat("a", 80) + ".ics",
	} {
		if got := FileName(in, ".ics"); got != want {
			t.Errorf("FileName(%q) = %q, want %q", in, got, want)
		}
	}
}
