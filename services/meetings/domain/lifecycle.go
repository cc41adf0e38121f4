package domain

import (
	"fmt"
	"strings"

	meetingsv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/meetings/v1"
)

// State is a meeting's lifecycle state.
type State = meetingsv1.MeetingState

// The states, named for readability in the tables below.
const (
	StateDraft      = meetingsv1.MeetingState_MEETING_STATE_DRAFT
	StateScheduled  = meetingsv1.MeetingState_MEETING_STATE_SCHEDULED
	StateInProgress = meetingsv1.MeetingState_MEETING_STATE_IN_PROGRESS
	StateEnded      = meetingsv1.MeetingState_MEETING_STATE_ENDED
	StateClosed     = meetingsv1.MeetingState_MEETING_STATE_CLOSED
	StateCancelled  = meetingsv1.MeetingState_MEETING_STATE_CANCELLED
	stateUnknown    = meetingsv1.MeetingState_MEETING_STATE_UNSPECIFIED
)

// States lists every real state, in lifecycle order.
var States = []State{StateDraft, StateScheduled, StateInProgress, StateEnded, StateClosed, StateCancelled}

// Action is a lifecycle transition a user (or, for Close, the minutes
// approval) asks for.
type Action int

const (
	// Schedule sends the invitations: draft -> scheduled.
	Schedule Action = iota + 1
	// Start opens the meeting: scheduled -> in progress.
	Start
	// End adjourns it: in progress -> ended.
	End
	// Close happens when the chair approves the minutes: ended -> closed.
	// No RPC of the meeting API asks for it; the minutes' approval does.
	Close
	// Cancel calls a draft or scheduled meeting off (with a reason).
	Cancel
	// Reschedule moves a scheduled meeting, or brings a cancelled one back,
	// to new times (with a reason); the result is scheduled.
	Reschedule
)

// Actions lists every action.
var Actions = []Action{Schedule, Start, End, Close, Cancel, Reschedule}

type transition struct {
	from []State
	to   State
	// allowed and done complete "only <allowed> can be <done>".
	allowed, done string
}

var transitions = map[Action]transition{
	Schedule:   {[]State{StateDraft}, StateScheduled, "a draft meeting", "scheduled"},
	Start:      {[]State{StateScheduled}, StateInProgress, "a scheduled meeting", "started"},
	End:        {[]State{StateInProgress}, StateEnded, "a meeting in progress", "ended"},
	Close:      {[]State{StateEnded}, StateClosed, "an ended meeting", "closed"},
	Cancel:     {[]State{StateDraft, StateScheduled}, StateCancelled, "a draft or scheduled meeting", "cancelled"},
	Reschedule: {[]State{StateScheduled, StateCancelled}, StateScheduled, "a scheduled or cancelled meeting", "rescheduled"},
}

func (a Action) String() string {
	switch a {
	case Schedule:
		return "schedule"
	case Start:
		return "start"
	case End:
		return "end"
	case Close:
		return "close"
	case Cancel:
		return "cancel"
	case Reschedule:
		return "reschedule"
	}
	return fmt.Sprintf("action(%d)", int(a))
}

// Past is the action's past participle as used in audit actions
// ("meeting.scheduled").
func (a Action) Past() string {
	if t, ok := transitions[a]; ok {
		return t.done
	}
	return a.String()
}

// describe says what a meeting in state s is, completing "meeting is ...".
func describe(s State) string {
	switch s {
	case StateDraft:
		return "a draft"
	case StateScheduled:
		return "scheduled"
	case StateInProgress:
		return "in progress"
	case StateEnded:
		return "ended"
	case StateClosed:
		return "closed (minutes approved)"
	case StateCancelled:
		return "cancelled"
	}
	return "in an unknown state"
}

// IllegalError refuses an action or an edit in the meeting's current state;
// its message says why ("meeting is in progress; only a scheduled meeting
// can be started").
type IllegalError struct {
	State State
	msg   string
}

func (e *IllegalError) Error() string { return e.msg }

// Transition returns the state action leads to from from, or an
// *IllegalError saying why it is not allowed.
func Transition(from State, a Action) (State, error) {
	t, ok := transitions[a]
	if !ok {
		return stateUnknown, fmt.Errorf("unknown lifecycle action %v", a)
	}
	for _, f := range t.from {
		if f == from {
			return t.to, nil
		}
	}
	return stateUnknown, &IllegalError{State: from,
		msg: fmt.Sprintf("meeting is %s; only %s can be %s", describe(from), t.allowed, t.done)}
}

// Activity is something done to a meeting that does not change its state.
type Activity int

const (
	EditDetails Activity = iota + 1
	EditAgenda
	EditParticipants
	Respond
	IssueCheckIn
	CheckIn
	MarkAttendance
	AdvanceAgenda
)

// Activities lists every activity.
var Activities = []Activity{EditDetails, EditAgenda, EditParticipants, Respond, IssueCheckIn, CheckIn, MarkAttendance, AdvanceAgenda}

type activityRule struct {
	in []State
	// what completes "<what> only while the meeting is <states>".
	what string
}

var activities = map[Activity]activityRule{
	// Once a meeting runs, its title, place and times are history.
	EditDetails: {[]State{StateDraft, StateScheduled}, "the meeting's details can be changed"},
	// Items are often added or reordered at the start of a meeting.
	EditAgenda:       {[]State{StateDraft, StateScheduled, StateInProgress}, "the agenda can be changed"},
	EditParticipants: {[]State{StateDraft, StateScheduled, StateInProgress}, "participants can be changed"},
	// Invitations are out only once scheduled.
	Respond:      {[]State{StateScheduled, StateInProgress}, "invitations can be answered"},
	IssueCheckIn: {[]State{StateScheduled, StateInProgress}, "check-in codes can be issued"},
	// CheckIn in a scheduled meeting is further limited to its day (see
	// CheckInAllowed).
	CheckIn: {[]State{StateScheduled, StateInProgress}, "participants can check in"},
	// Attendance may be corrected after the end, for the minutes.
	MarkAttendance: {[]State{StateScheduled, StateInProgress, StateEnded}, "attendance can be marked"},
	AdvanceAgenda:  {[]State{StateInProgress}, "the current agenda item can be set"},
}

// Allowed returns nil if act may happen in state s, else an *IllegalError
// ("meeting is ended; the agenda can be changed only while the meeting is a
// draft, scheduled or in progress").
func Allowed(s State, act Activity) error {
	r, ok := activities[act]
	if !ok {
		return fmt.Errorf("unknown activity %d", int(act))
	}
	for _, in := range r.in {
		if in == s {
			return nil
		}
	}
	words := make([]string, len(r.in))
	for i, in := range r.in {
		words[i] = describe(in)
	}
	list := words[0]
	if n := len(words); n > 1 {
		list = strings.Join(words[:n-1], ", ") + " or " + words[n-1]
	}
	return &IllegalError{State: s,
		msg: fmt.Sprintf("meeting is %s; %s only while the meeting is %s", describe(s), r.what, list)}
}

// Readiness is what a meeting needs before it can be scheduled and keep
// while scheduled or in progress.
type Readiness struct {
	AgendaItems  int
	Chairs       int
	MinuteTakers int
}

// CheckReady returns nil if r is enough to hold the meeting, else an
// *IllegalError listing everything missing, for state s.
func CheckReady(s State, r Readiness) error {
	var missing []string
	if r.AgendaItems == 0 {
		missing = append(missing, "at least one agenda item")
	}
	if r.Chairs == 0 {
		missing = append(missing, "a participant who chairs it")
	}
	if r.MinuteTakers == 0 {
		missing = append(missing, "a participant who takes the minutes")
	}
	if len(missing) == 0 {
		return nil
	}
	return &IllegalError{State: s,
		msg: fmt.Sprintf("meeting is %s and needs %s", describe(s), strings.Join(missing, ", "))}
}

// MustStayReady reports whether a meeting in state s has to keep its
// Readiness through edits: the invitations promise an agenda, a chair and a
// minute-taker.
func MustStayReady(s State) bool { return s == StateScheduled || s == StateInProgress }
