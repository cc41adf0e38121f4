package domain

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	meetingsv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/meetings/v1"
)

const (
	meetingA = "0193a6a2-0000-7000-8000-00000000000a"
	meetingB = "0193a6a2-0000-7000-8000-00000000000b"
)

func TestCheckInToken(t *testing.T) {
	secret := []byte(strings.Repeat("k", 32))
	now := time.Date(2026, 12, 15, 1, 0, 0, 0, time.UTC)
	tok, err := SignCheckIn(secret, meetingA, now.Add(CheckInTokenTTL))
	if err != nil {
		t.Fatal(err)
	}
	if err := VerifyCheckIn(secret, tok, meetingA, now); err != nil {
		t.Fatalf("fresh token refused: %v", err)
	}
	if err := VerifyCheckIn(secret, tok, meetingA, now.Add(CheckInTokenTTL-time.Second)); err != nil {
		t.Errorf("token refused a second before expiry: %v", err)
	}
	if err := VerifyCheckIn(secret, tok, meetingA, now.Add(CheckInTokenTTL)); !errors.Is(err, ErrTokenExpired) {
		t.Errorf("at expiry: %v, want expired", err)
	}
	// Yesterday's screenshot.
	if err := VerifyCheckIn(secret, tok, meetingA, now.Add(24*time.Hour)); !errors.Is(err, ErrTokenExpired) {
		t.Errorf("a day later: %v, want expired", err)
	}
	if err := VerifyCheckIn(secret, tok, meetingB, now); !errors.Is(err, ErrTokenOtherMeeting) {
		t.Errorf("other meeting: %v", err)
	}
	if err := VerifyCheckIn([]byte(strings.Repeat("x", 32)), tok, meetingA, now); !errors.Is(err, ErrTokenInvalid) {
		t.Errorf("other deployment's secret: %v", err)
	}

	// Tampering with the payload (a later expiry, another meeting) breaks
	// the MAC: forged, not "expired" or "other meeting".
	payload, mac, _ := strings.Cut(tok, ".")
	raw, _ := base64.RawURLEncoding.DecodeString(payload)
	for i := range raw {
		forged := append([]byte{}, raw...)
		forged[i] ^= 1
		f := base64.RawURLEncoding.EncodeToString(forged) + "." + mac
		if err := VerifyCheckIn(secret, f, meetingA, now); !errors.Is(err, ErrTokenInvalid) {
			t.Fatalf("payload byte %d flipped: %v, want invalid", i, err)
		}
	}
	for _, bad := range []string{"", "abc", tok + "x", "." + mac, payload + ".", strings.Replace(tok, ".", "", 1), "!!!.!!!"} {
		if err := VerifyCheckIn(secret, bad, meetingA, now); !errors.Is(err, ErrTokenInvalid) {
			t.Errorf("VerifyCheckIn(%q) = %v, want invalid", bad, err)
		}
	}
	if _, err := SignCheckIn(secret, "not-a-uuid", now); err == nil {
		t.Error("signed for a non-UUID meeting")
	}
	if p := CheckInPath(meetingA, tok); p != "/checkin?meeting="+meetingA+"&token="+tok {
		t.Errorf("path = %q", p)
	}
	// The token is URL-safe as it is.
	if strings.ContainsAny(tok, "+/=&?% ") {
		t.Errorf("token %q needs escaping in a URL", tok)
	}
}

func TestCheckInAllowed(t *testing.T) {
	// 23:30 on 15 Dec in Vietnam is 16:30 UTC.
	now := time.Date(2026, 12, 15, 16, 30, 0, 0, time.UTC)
	today := time.Date(2026, 12, 15, 8, 0, 0, 0, Vietnam)
	tomorrow := time.Date(2026, 12, 16, 0, 30, 0, 0, Vietnam) // 15 Dec 17:30 UTC: same UTC day, next Vietnamese day
	yesterday := time.Date(2026, 12, 14, 23, 0, 0, 0, Vietnam)
	if err := CheckInAllowed(StateScheduled, today, now); err != nil {
		t.Errorf("scheduled today: %v", err)
	}
	for _, s := range []time.Time{tomorrow, yesterday} {
		err := CheckInAllowed(StateScheduled, s, now)
		var ie *IllegalError
		if !errors.As(err, &ie) || !strings.Contains(err.Error(), "check-in opens on the day of the meeting") {
			t.Errorf("scheduled %v: %v", s, err)
		}
	}
	if err := CheckInAllowed(StateInProgress, yesterday, now); err != nil {
		t.Errorf("in progress (started yesterday): %v", err)
	}
	for _, s := range []State{StateDraft, StateEnded, StateClosed, StateCancelled} {
		if err := CheckInAllowed(s, today, now); err == nil {
			t.Errorf("check-in allowed in %v", s)
		}
	}
}

func TestPeriodBounds(t *testing.T) {
	now := time.Date(2026, 12, 15, 18, 0, 0, 0, time.UTC) // 16 Dec 01:00 in Vietnam
	day := time.Date(2026, 12, 16, 0, 0, 0, 0, Vietnam)
	for p, want := range map[meetingsv1.Period][2]time.Time{
		meetingsv1.Period_PERIOD_TODAY:    {day, day.AddDate(0, 0, 1)},
		meetingsv1.Period_PERIOD_UPCOMING: {day.AddDate(0, 0, 1), {}},
		meetingsv1.Period_PERIOD_PAST:     {{}, day},
	} {
		from, to, err := PeriodBounds(p, now)
		if err != nil || !from.Equal(want[0]) || !to.Equal(want[1]) {
			t.Errorf("%v: [%v, %v) %v; want [%v, %v)", p, from, to, err, want[0], want[1])
		}
	}
	if _, _, err := PeriodBounds(0, now); err == nil {
		t.Error("unspecified period accepted")
	}
}
