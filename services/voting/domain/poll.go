// Package domain holds the poll rules that need no I/O: what makes a new
// poll valid, how its text is normalised and which choices a motion gets.
package domain

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	votingv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/voting/v1"
	"github.com/google/uuid"
	"golang.org/x/text/unicode/norm"
)

// Limits, counted in characters (runes) after normalisation.
const (
	MaxTitleLen          = 300
	MaxChoiceLen         = 200
	MaxOrganizationIDLen = 128
	MinChoices           = 2
	// MaxChoices leaves room for a long candidate list in an election.
	MaxChoices = 100
)

// Ids of a motion's default choices. Ballots and results refer to choices
// by id, so these never change; the labels are for display.
const (
	ChoiceAgree    = "agree"
	ChoiceDisagree = "disagree"
	ChoiceAbstain  = "abstain"
)

// Reasons are stable codes for a violation; the gateway translates them
// (Vietnamese by default), so they must not change once published.
const (
	ReasonRequired         = "REQUIRED"
	ReasonTooLong          = "TOO_LONG"
	ReasonInvalidCharacter = "INVALID_CHARACTER"
	ReasonInvalidFormat    = "INVALID_FORMAT"
	ReasonUnknownValue     = "UNKNOWN_VALUE"
	ReasonTooFew           = "TOO_FEW"
	ReasonTooMany          = "TOO_MANY"
	ReasonDuplicate        = "DUPLICATE"
)

// Violation is one broken rule. Field is the proto field name of the request
// (choices[i] for one choice, zero-based, as in google.rpc.BadRequest);
// Description is English.
type Violation struct {
	Field       string
	Reason      string
	Description string
}

// Choice is one option of a poll.
type Choice struct {
	ID    string
	Label string
}

// MotionChoices are the choices of a motion created without any: the three
// answers of a Vietnamese vote (as in the National Assembly's electronic
// voting).
func MotionChoices() []Choice {
	return []Choice{
		{ID: ChoiceAgree, Label: "Tán thành"},
		{ID: ChoiceDisagree, Label: "Không tán thành"},
		{ID: ChoiceAbstain, Label: "Không biểu quyết"},
	}
}

// NormalizeText trims surrounding white space and composes the text (NFC),
// so the same Vietnamese word typed with precomposed or combining
// diacritics is stored, compared and counted the same way.
func NormalizeText(s string) string {
	return norm.NFC.String(strings.TrimSpace(s))
}

// Draft is a validated, normalised new poll.
type Draft struct {
	MeetingID      string // canonical UUID
	OrganizationID string
	AgendaItemID   string // canonical UUID or empty
	Title          string
	Kind           votingv1.PollKind
	Secret         bool
	Choices        []Choice
}

// ValidateCreate checks a create request and returns the normalised draft
// with every violation found. The draft is meaningful only when there are
// no violations.
func ValidateCreate(req *votingv1.CreatePollRequest) (Draft, []Violation) {
	var vs []Violation
	d := Draft{
		OrganizationID: NormalizeText(req.GetOrganizationId()),
		Title:          NormalizeText(req.GetTitle()),
		Kind:           req.GetKind(),
		Secret:         req.GetSecret(),
	}
	var v []Violation
	d.MeetingID, v = ParseID("meeting_id", req.GetMeetingId(), true)
	vs = append(vs, v...)
	vs = append(vs, checkText("organization_id", d.OrganizationID, MaxOrganizationIDLen, true)...)
	d.AgendaItemID, v = ParseID("agenda_item_id", req.GetAgendaItemId(), false)
	vs = append(vs, v...)
	vs = append(vs, checkText("title", d.Title, MaxTitleLen, true)...)

	kindOK := false
	switch _, known := votingv1.PollKind_name[int32(d.Kind)]; {
	case d.Kind == votingv1.PollKind_POLL_KIND_UNSPECIFIED:
		vs = append(vs, Violation{"kind", ReasonRequired, "must be specified"})
	case !known:
		vs = append(vs, Violation{"kind", ReasonUnknownValue, fmt.Sprintf("unknown poll kind %d", d.Kind)})
	default:
		kindOK = true
	}
	// Without a known kind the choice rules are unknown too; checking them
	// would only add noise.
	if kindOK {
		d.Choices, v = Choices(d.Kind, req.GetChoices())
		vs = append(vs, v...)
	}
	return d, vs
}

// Choices turns the requested labels into a poll's choices. A motion with
// no labels gets MotionChoices; otherwise at least MinChoices labels are
// needed, each non-empty and different from the others (ignoring case,
// after normalisation). Custom choices get ids c1, c2, … in request order.
func Choices(kind votingv1.PollKind, labels []string) ([]Choice, []Violation) {
	if len(labels) == 0 && kind == votingv1.PollKind_POLL_KIND_MOTION {
		return MotionChoices(), nil
	}
	switch {
	case len(labels) < MinChoices:
		return nil, []Violation{{"choices", ReasonTooFew, fmt.Sprintf("needs at least %d choices, got %d", MinChoices, len(labels))}}
	case len(labels) > MaxChoices:
		return nil, []Violation{{"choices", ReasonTooMany, fmt.Sprintf("allows at most %d choices, got %d", MaxChoices, len(labels))}}
	}
	var vs []Violation
	choices := make([]Choice, 0, len(labels))
	seen := make(map[string]int, len(labels))
	for i, raw := range labels {
		field := fmt.Sprintf("choices[%d]", i)
		label := NormalizeText(raw)
		if v := checkText(field, label, MaxChoiceLen, true); len(v) > 0 {
			vs = append(vs, v...)
			continue
		}
		key := strings.ToLower(label)
		if j, dup := seen[key]; dup {
			vs = append(vs, Violation{field, ReasonDuplicate, fmt.Sprintf("is the same as choices[%d]", j)})
			continue
		}
		seen[key] = i
		choices = append(choices, Choice{ID: fmt.Sprintf("c%d", i+1), Label: label})
	}
	if len(vs) > 0 {
		return nil, vs
	}
	return choices, nil
}

// ParseID checks that s is a UUID and returns its canonical form; an empty
// s is a violation only when required.
func ParseID(field, s string, required bool) (string, []Violation) {
	s = strings.TrimSpace(s)
	if s == "" {
		if required {
			return "", []Violation{{field, ReasonRequired, "must not be empty"}}
		}
		return "", nil
	}
	id, err := uuid.Parse(s)
	if err != nil {
		return "", []Violation{{field, ReasonInvalidFormat, "must be a UUID"}}
	}
	return id.String(), nil
}

// checkText applies the rules of single-line text: optional presence, a
// length limit and no control characters.
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
