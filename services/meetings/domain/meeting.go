// Package domain holds the meeting rules that need no I/O: what makes a
// request valid and how its text is normalised, the lifecycle state machine,
// what may change in which state, quorum, check-in tokens, the audit hash
// chain and the invitation calendar file.
package domain

import (
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	meetingsv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/meetings/v1"
	"github.com/google/uuid"
	"golang.org/x/text/unicode/norm"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// Limits on free text, counted in characters (runes) after normalisation.
const (
	MaxTitleLen  = 300
	MaxPlaceLen  = 300
	MaxReasonLen = 1000
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
	ReasonDuplicate        = "DUPLICATE"
	ReasonNotFound         = "NOT_FOUND"
	ReasonNotParticipant   = "NOT_PARTICIPANT"
	ReasonAlreadyAdded     = "ALREADY_PARTICIPANT"
	ReasonTokenInvalid     = "TOKEN_INVALID"
	ReasonTokenExpired     = "TOKEN_EXPIRED"
	ReasonTokenWrongMeet   = "TOKEN_OTHER_MEETING"
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

// NormalizeLongText is NormalizeText for multi-line text (reasons): line
// breaks are kept, Windows line ends become "\n".
func NormalizeLongText(s string) string {
	return NormalizeText(strings.ReplaceAll(s, "\r\n", "\n"))
}

// ParseID checks that s is a UUID and returns its canonical (lower-case,
// hyphenated) form, so the same id always compares equal.
func ParseID(field, s string) (string, []Violation) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", []Violation{{field, ReasonRequired, "must not be empty"}}
	}
	id, err := uuid.Parse(s)
	if err != nil || len(s) != 36 {
		return "", []Violation{{field, ReasonInvalidFormat, "must be a UUID"}}
	}
	return id.String(), nil
}

// DefaultBody is the body a meeting of kind belongs to when the request
// names none: the committee meetings belong to their committee, the cell
// meetings and study conferences to every member of the organisation.
func DefaultBody(k meetingsv1.MeetingKind) meetingsv1.BodyKind {
	switch k {
	case meetingsv1.MeetingKind_MEETING_KIND_EXECUTIVE_COMMITTEE:
		return meetingsv1.BodyKind_BODY_KIND_EXECUTIVE_COMMITTEE
	case meetingsv1.MeetingKind_MEETING_KIND_STANDING_COMMITTEE:
		return meetingsv1.BodyKind_BODY_KIND_STANDING_COMMITTEE
	case meetingsv1.MeetingKind_MEETING_KIND_STANDING_MEMBERS:
		return meetingsv1.BodyKind_BODY_KIND_STANDING_MEMBERS
	default:
		return meetingsv1.BodyKind_BODY_KIND_ALL_MEMBERS
	}
}

// Draft is a validated, normalised new meeting.
type Draft struct {
	OrganizationID string
	Title          string
	Kind           meetingsv1.MeetingKind
	Body           meetingsv1.BodyKind
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
		Title:  NormalizeText(req.GetTitle()),
		Kind:   req.GetKind(),
		Place:  NormalizeText(req.GetPlace()),
		Online: req.GetOnline(),
	}
	var idv []Violation
	d.OrganizationID, idv = ParseID("organization_id", req.GetOrganizationId())
	vs = append(vs, idv...)
	vs = append(vs, checkText("title", d.Title, MaxTitleLen, true)...)
	vs = append(vs, checkText("place", d.Place, MaxPlaceLen, false)...)

	switch _, known := meetingsv1.MeetingKind_name[int32(d.Kind)]; {
	case d.Kind == meetingsv1.MeetingKind_MEETING_KIND_UNSPECIFIED:
		vs = append(vs, Violation{"kind", ReasonRequired, "must be specified"})
	case !known:
		vs = append(vs, Violation{"kind", ReasonUnknownValue, fmt.Sprintf("unknown meeting kind %d", d.Kind)})
	}
	d.Body = req.GetBody()
	if d.Body == meetingsv1.BodyKind_BODY_KIND_UNSPECIFIED {
		d.Body = DefaultBody(d.Kind)
	} else if v := checkBody(d.Body); v != nil {
		vs = append(vs, *v)
	}

	var tv []Violation
	d.StartsAt, d.EndsAt, tv = ValidateTimes(req.GetStartsAt(), req.GetEndsAt())
	vs = append(vs, tv...)
	return d, vs
}

// Details are the editable fields of a meeting, validated and normalised.
type Details struct {
	Title  string
	Place  string
	Online bool
	// Body is BODY_KIND_UNSPECIFIED when the request keeps the current one.
	Body     meetingsv1.BodyKind
	StartsAt time.Time
	EndsAt   time.Time // zero: no planned end
}

// ValidateUpdate checks an update request. An update replaces every field
// (proto3 cannot tell an empty field from an absent one), except that an
// unspecified body keeps the meeting's body. expected_version is required:
// an update of every field without it could silently undo someone else's.
func ValidateUpdate(req *meetingsv1.UpdateMeetingRequest) (Details, []Violation) {
	var vs []Violation
	d := Details{
		Title:  NormalizeText(req.GetTitle()),
		Place:  NormalizeText(req.GetPlace()),
		Online: req.GetOnline(),
		Body:   req.GetBody(),
	}
	vs = append(vs, CheckExpectedVersion(req.GetExpectedVersion(), true)...)
	vs = append(vs, checkText("title", d.Title, MaxTitleLen, true)...)
	vs = append(vs, checkText("place", d.Place, MaxPlaceLen, false)...)
	if d.Body != meetingsv1.BodyKind_BODY_KIND_UNSPECIFIED {
		if v := checkBody(d.Body); v != nil {
			vs = append(vs, *v)
		}
	}
	var tv []Violation
	d.StartsAt, d.EndsAt, tv = ValidateTimes(req.GetStartsAt(), req.GetEndsAt())
	vs = append(vs, tv...)
	return d, vs
}

// CheckExpectedVersion validates expected_version: negative is never
// valid, zero means "do not check" unless required.
func CheckExpectedVersion(v int64, required bool) []Violation {
	switch {
	case v < 0:
		return []Violation{{"expected_version", ReasonOutOfRange, "must not be negative"}}
	case v == 0 && required:
		return []Violation{{"expected_version", ReasonRequired, "must be the version of the meeting the change is based on"}}
	}
	return nil
}

// ValidateTimes checks a required start and an optional end that must come
// after it (fields starts_at and ends_at). The end is the zero time when
// none was given.
func ValidateTimes(starts, ends *timestamppb.Timestamp) (time.Time, time.Time, []Violation) {
	var vs []Violation
	var s, e time.Time
	startsOK := false
	switch {
	case starts == nil:
		vs = append(vs, Violation{"starts_at", ReasonRequired, "must be set"})
	case starts.CheckValid() != nil:
		vs = append(vs, Violation{"starts_at", ReasonInvalidTimestamp, "is not a valid timestamp"})
	default:
		s = starts.AsTime()
		startsOK = true
	}
	if ends != nil {
		switch {
		case ends.CheckValid() != nil:
			vs = append(vs, Violation{"ends_at", ReasonInvalidTimestamp, "is not a valid timestamp"})
		case startsOK && !ends.AsTime().After(s):
			vs = append(vs, Violation{"ends_at", ReasonOutOfOrder, "must be after starts_at"})
		default:
			e = ends.AsTime()
		}
	}
	return s, e, vs
}

// ValidateReason normalises a free-text reason (line breaks allowed) and
// checks it.
func ValidateReason(field, s string, required bool) (string, []Violation) {
	s = NormalizeLongText(s)
	return s, checkLongText(field, s, MaxReasonLen, required)
}

func checkBody(b meetingsv1.BodyKind) *Violation {
	if _, known := meetingsv1.BodyKind_name[int32(b)]; !known {
		return &Violation{"body", ReasonUnknownValue, fmt.Sprintf("unknown body %d", b)}
	}
	return nil
}

// checkText applies the rules shared by every single-line text field: an
// optional presence check, a length limit and no control characters (a
// newline or tab in a title breaks lists, minutes and exports).
func checkText(field, s string, max int, required bool) []Violation {
	return checkTextAllowing(field, s, max, required, "")
}

// checkLongText is checkText for multi-line text: line breaks and tabs are
// allowed, other control characters are not.
func checkLongText(field, s string, max int, required bool) []Violation {
	return checkTextAllowing(field, s, max, required, "\n\t")
}

func checkTextAllowing(field, s string, max int, required bool, allowed string) []Violation {
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
	if strings.IndexFunc(s, func(r rune) bool { return unicode.IsControl(r) && !strings.ContainsRune(allowed, r) }) >= 0 {
		what := "control characters such as line breaks"
		if allowed != "" {
			what = "control characters"
		}
		vs = append(vs, Violation{field, ReasonInvalidCharacter, "must not contain " + what})
	}
	return vs
}
