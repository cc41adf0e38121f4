// Package domain holds the meeting rules that need no I/O: what makes a new
// meeting valid and how its text is normalised before it is stored.
package domain

import (
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	meetingsv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/meetings/v1"
	"golang.org/x/text/unicode/norm"
)

// Limits on free text, counted in characters (runes) after normalisation.
const (
	MaxTitleLen          = 300
	MaxPlaceLen          = 300
	MaxOrganizationIDLen = 128
)

// Reasons are stable codes for a violation; the gateway translates them
// (Vietnamese by default), so they must not change once published.
const (
	ReasonRequired         = "REQUIRED"
	ReasonTooLong          = "TOO_LONG"
	ReasonInvalidCharacter = "INVALID_CHARACTER"
	ReasonUnknownValue     = "UNKNOWN_VALUE"
	ReasonInvalidTimestamp = "INVALID_TIMESTAMP"
	ReasonOutOfOrder       = "OUT_OF_ORDER"
	ReasonInvalidFormat    = "INVALID_FORMAT"
	ReasonOutOfRange       = "OUT_OF_RANGE"
	ReasonMismatch         = "MISMATCH"
)

// Violation is one broken rule. Field is the proto field name of the request
// so a client can point at the offending input; Description is English.
type Violation struct {
	Field       string
	Reason      string
	Description string
}

// NormalizeText trims surrounding white space and composes the text (NFC).
// Vietnamese keyboards and copy-paste from PDFs produce both precomposed and
// decomposed diacritics; storing one form keeps equality, sorting, search
// and length limits consistent.
func NormalizeText(s string) string {
	return norm.NFC.String(strings.TrimSpace(s))
}

// Draft is a validated, normalised new meeting.
type Draft struct {
	OrganizationID string
	Title          string
	Kind           meetingsv1.MeetingKind
	Place          string
	Online         bool
	StartsAt       time.Time
	// EndsAt is the zero time when the request gave no end.
	EndsAt time.Time
}

// ValidateCreate checks a create request and returns the normalised draft
// together with every violation found (not just the first), so a form can
// mark all bad inputs at once. The draft is meaningful only when there are
// no violations.
func ValidateCreate(req *meetingsv1.CreateMeetingRequest) (Draft, []Violation) {
	var vs []Violation
	d := Draft{
		OrganizationID: NormalizeText(req.GetOrganizationId()),
		Title:          NormalizeText(req.GetTitle()),
		Kind:           req.GetKind(),
		Place:          NormalizeText(req.GetPlace()),
		Online:         req.GetOnline(),
	}

	vs = append(vs, checkText("organization_id", d.OrganizationID, MaxOrganizationIDLen, true)...)
	vs = append(vs, checkText("title", d.Title, MaxTitleLen, true)...)
	vs = append(vs, checkText("place", d.Place, MaxPlaceLen, false)...)

	switch _, known := meetingsv1.MeetingKind_name[int32(d.Kind)]; {
	case d.Kind == meetingsv1.MeetingKind_MEETING_KIND_UNSPECIFIED:
		vs = append(vs, Violation{"kind", ReasonRequired, "must be specified"})
	case !known:
		vs = append(vs, Violation{"kind", ReasonUnknownValue, fmt.Sprintf("unknown meeting kind %d", d.Kind)})
	}

	startsOK := false
	switch {
	case req.GetStartsAt() == nil:
		vs = append(vs, Violation{"starts_at", ReasonRequired, "must be set"})
	case req.GetStartsAt().CheckValid() != nil:
		vs = append(vs, Violation{"starts_at", ReasonInvalidTimestamp, "is not a valid timestamp"})
	default:
		d.StartsAt = req.GetStartsAt().AsTime()
		startsOK = true
	}

	if e := req.GetEndsAt(); e != nil {
		switch {
		case e.CheckValid() != nil:
			vs = append(vs, Violation{"ends_at", ReasonInvalidTimestamp, "is not a valid timestamp"})
		case startsOK && !e.AsTime().After(d.StartsAt):
			vs = append(vs, Violation{"ends_at", ReasonOutOfOrder, "must be after starts_at"})
		default:
			d.EndsAt = e.AsTime()
		}
	}
	return d, vs
}

// checkText applies the rules shared by every single-line text field: an
// optional presence check, a length limit and no control characters (a
// newline or tab in a title breaks lists, minutes and exports).
func checkText(field, s string, max int, required bool) []Violation {
	if s == "" {
		if required {
			return []Violation{{field, ReasonRequired, "must not be empty"}}
		}
		return nil
	}
	var vs []Violation
	if n := utf8.RuneCountInString(s); n > max {
		vs = append(vs, Violation{field, ReasonTooLong, fmt.Sprintf("must be at most %d characters, got %d", max, n)})
	}
	if strings.IndexFunc(s, unicode.IsControl) >= 0 {
		vs = append(vs, Violation{field, ReasonInvalidCharacter, "must not contain control characters such as line breaks"})
	}
	return vs
}
