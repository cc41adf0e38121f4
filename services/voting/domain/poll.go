// Package domain holds the poll rules that need no I/O: what makes a new
// poll and a ballot valid, how text is normalised, which choices a motion
// gets, and how ballots are counted into a result (count.go).
package domain

import (
	"fmt"
	"slices"
	"strings"
	"time"
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
	ReasonNotAllowed       = "NOT_ALLOWED"
	ReasonOutOfRange       = "OUT_OF_RANGE"
	ReasonInvalidTimestamp = "INVALID_TIMESTAMP"
	ReasonNotFound         = "NOT_FOUND"
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

// TakesMotionChoices: a motion, a written opinion poll and a show of hands
// get agree / disagree / abstain when created without choices.
func TakesMotionChoices(kind votingv1.PollKind) bool {
	switch kind {
	case votingv1.PollKind_POLL_KIND_MOTION, votingv1.PollKind_POLL_KIND_WRITTEN_OPINION, votingv1.PollKind_POLL_KIND_SHOW_OF_HANDS:
		return true
	}
	return false
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

// Draft is a validated, normalised new poll. Rules hold the effective rules
// (the kind's defaults filled in), so a stored poll says what will decide it.
type Draft struct {
	MeetingID       string // canonical UUID; empty for a written opinion poll
	OrganizationID  string // empty: take the meeting's
	AgendaItemID    string // canonical UUID or empty
	Title           string
	Kind            votingv1.PollKind
	Secret          bool
	Choices         []Choice
	Rules           Rules
	MinChoices      int
	MaxChoices      int
	Seats           int
	Deadline        time.Time // zero: none
	Body            string    // meetings.v1.BodyKind name; written opinion polls only
	AllowDelegation bool
}

// Bodies a written opinion poll may be sent to (meetings.v1.BodyKind names;
// the voting service does not import the meetings contract for four names).
var Bodies = []string{"BODY_KIND_ALL_MEMBERS", "BODY_KIND_EXECUTIVE_COMMITTEE", "BODY_KIND_STANDING_COMMITTEE", "BODY_KIND_STANDING_MEMBERS"}

// DefaultSecret is the secrecy a create request asks for: what it says
// when it says it, else secret ballot for an election (the default the
// Party's election regulations set for elections of committees,
// secretaries and delegates; issue 5) and open for every other kind, as
// before secret became optional.
func DefaultSecret(req *votingv1.CreatePollRequest) bool {
	if req.Secret != nil {
		return req.GetSecret()
	}
	return req.GetKind() == votingv1.PollKind_POLL_KIND_ELECTION
}

// ValidateCreate checks a create request at time now and returns the
// normalised draft with every violation found. The draft is meaningful only
// when there are no violations.
func ValidateCreate(req *votingv1.CreatePollRequest, now time.Time) (Draft, []Violation) {
	var vs []Violation
	d := Draft{
		OrganizationID:  NormalizeText(req.GetOrganizationId()),
		Title:           NormalizeText(req.GetTitle()),
		Kind:            req.GetKind(),
		Secret:          DefaultSecret(req),
		AllowDelegation: req.GetAllowDelegation(),
	}
	written := d.Kind == votingv1.PollKind_POLL_KIND_WRITTEN_OPINION
	var v []Violation
	if written {
		if strings.TrimSpace(req.GetMeetingId()) != "" {
			vs = append(vs, Violation{"meeting_id", ReasonNotAllowed, "must be empty for a written opinion poll, which belongs to no meeting"})
		}
		vs = append(vs, checkText("organization_id", d.OrganizationID, MaxOrganizationIDLen, true)...)
		if strings.TrimSpace(req.GetAgendaItemId()) != "" {
			vs = append(vs, Violation{"agenda_item_id", ReasonNotAllowed, "must be empty for a written opinion poll"})
		}
	} else {
		d.MeetingID, v = ParseID("meeting_id", req.GetMeetingId(), true)
		vs = append(vs, v...)
		// Optional: a meeting's poll belongs to the meeting's organisation.
		vs = append(vs, checkText("organization_id", d.OrganizationID, MaxOrganizationIDLen, false)...)
		d.AgendaItemID, v = ParseID("agenda_item_id", req.GetAgendaItemId(), false)
		vs = append(vs, v...)
	}
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
	if d.Kind == votingv1.PollKind_POLL_KIND_SHOW_OF_HANDS && d.Secret {
		vs = append(vs, Violation{"secret", ReasonNotAllowed, "a show of hands cannot be secret"})
	}

	// The deadline: required for a written opinion poll, optional
	// otherwise, and in the future either way.
	if ts := req.GetDeadline(); ts != nil {
		if err := ts.CheckValid(); err != nil {
			vs = append(vs, Violation{"deadline", ReasonInvalidTimestamp, "is not a valid time"})
		} else if d.Deadline = ts.AsTime(); !d.Deadline.After(now) {
			vs = append(vs, Violation{"deadline", ReasonOutOfRange, "must be in the future"})
		}
	} else if written {
		vs = append(vs, Violation{"deadline", ReasonRequired, "a written opinion poll needs a deadline"})
	}
	if body := strings.TrimSpace(req.GetBody()); written {
		switch {
		case body == "":
			vs = append(vs, Violation{"body", ReasonRequired, "a written opinion poll goes to a body's members; name the body"})
		case !slices.Contains(Bodies, body):
			vs = append(vs, Violation{"body", ReasonUnknownValue, fmt.Sprintf("must be one of %s", strings.Join(Bodies, ", "))})
		default:
			d.Body = body
		}
	} else if body != "" {
		vs = append(vs, Violation{"body", ReasonNotAllowed, "only a written opinion poll names a body"})
	}

	// Without a known kind the choice rules are unknown too; checking them
	// would only add noise.
	if kindOK {
		d.Choices, v = Choices(d.Kind, req.GetChoices())
		vs = append(vs, v...)
		vs = append(vs, d.shape(req)...)
		var rv []Violation
		d.Rules, rv = EffectiveRules(d.Kind, d.Choices, req.GetRules())
		vs = append(vs, rv...)
	}
	return d, vs
}

// shape checks min/max choices and seats against the kind and the choices.
func (d *Draft) shape(req *votingv1.CreatePollRequest) []Violation {
	var vs []Violation
	minC, maxC, seats := int(req.GetMinChoices()), int(req.GetMaxChoices()), int(req.GetSeats())
	n := len(d.Choices)
	if d.Kind == votingv1.PollKind_POLL_KIND_MULTIPLE_CHOICE {
		if minC == 0 {
			minC = 1
		}
		if maxC == 0 {
			maxC = max(n, minC)
		}
		switch {
		case minC < 0:
			vs = append(vs, Violation{"min_choices", ReasonOutOfRange, "must not be negative"})
		case n > 0 && minC > n:
			vs = append(vs, Violation{"min_choices", ReasonOutOfRange, fmt.Sprintf("must be at most the %d choices", n)})
		}
		switch {
		case maxC < minC:
			vs = append(vs, Violation{"max_choices", ReasonOutOfRange, fmt.Sprintf("must be at least min_choices (%d)", minC)})
		case n > 0 && maxC > n:
			vs = append(vs, Violation{"max_choices", ReasonOutOfRange, fmt.Sprintf("must be at most the %d choices", n)})
		}
		d.MinChoices, d.MaxChoices = minC, maxC
	} else {
		if minC != 0 {
			vs = append(vs, Violation{"min_choices", ReasonNotAllowed, "only a multiple-choice poll has min_choices"})
		}
		if maxC != 0 {
			vs = append(vs, Violation{"max_choices", ReasonNotAllowed, "only a multiple-choice poll has max_choices"})
		}
	}
	if d.Kind == votingv1.PollKind_POLL_KIND_ELECTION {
		switch {
		case seats <= 0:
			vs = append(vs, Violation{"seats", ReasonRequired, "an election needs the number of seats (at least 1)"})
		case n > 0 && seats > n:
			vs = append(vs, Violation{"seats", ReasonOutOfRange, fmt.Sprintf("must be at most the %d candidates", n)})
		}
		d.Seats = seats
	} else if seats != 0 {
		vs = append(vs, Violation{"seats", ReasonNotAllowed, "only an election has seats"})
	}
	return vs
}

// Choices turns the requested labels into a poll's choices. A motion with
// no labels gets MotionChoices; otherwise at least MinChoices labels are
// needed, each non-empty and different from the others (ignoring case,
// after normalisation). Custom choices get ids c1, c2, … in request order.
func Choices(kind votingv1.PollKind, labels []string) ([]Choice, []Violation) {
	if len(labels) == 0 && TakesMotionChoices(kind) {
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
