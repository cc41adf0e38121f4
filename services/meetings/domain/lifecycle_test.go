package domain

import (
	"errors"
	"strings"
	"testing"
)

// Every (state, action) pair: the allowed ones lead where the lifecycle
// says, every other one is an *IllegalError naming the current state and
// what the action needs.
func TestTransitionEveryPair(t *testing.T) {
	allowed := map[State]map[Action]State{
		StateDraft:      {Schedule: StateScheduled, Cancel: StateCancelled},
		StateScheduled:  {Start: StateInProgress, Cancel: StateCancelled, Reschedule: StateScheduled},
		StateInProgress: {End: StateEnded},
		StateEnded:      {Close: StateClosed},
		StateClosed:     {},
		StateCancelled:  {Reschedule: StateScheduled},
	}
	needs := map[Action]string{
		Schedule:   "only a draft meeting can be scheduled",
		Start:      "only a scheduled meeting can be started",
		End:        "only a meeting in progress can be ended",
		Close:      "only an ended meeting can be closed",
		Cancel:     "only a draft or scheduled meeting can be cancelled",
		Reschedule: "only a scheduled or cancelled meeting can be rescheduled",
	}
	pairs := 0
	for _, from := range States {
		for _, act := range Actions {
			pairs++
			to, err := Transition(from, act)
			want, ok := allowed[from][act]
			if ok {
				if err != nil || to != want {
					t.Errorf("%v --%v--> %v, %v; want %v", from, act, to, err, want)
				}
				continue
			}
			var ie *IllegalError
			if !errors.As(err, &ie) {
				t.Errorf("%v --%v--> %v, %v; want an IllegalError", from, act, to, err)
				continue
			}
			wantMsg := "meeting is " + describe(from) + "; " + needs[act]
			if ie.Error() != wantMsg || ie.State != from {
				t.Errorf("%v --%v--> message %q, want %q", from, act, ie.Error(), wantMsg)
			}
		}
	}
	if pairs != 36 {
		t.Fatalf("checked %d pairs, want 6 states x 6 actions", pairs)
	}
	if _, err := Transition(StateDraft, Action(99)); err == nil {
		t.Error("unknown action accepted")
	}
}

func TestTransitionMessageExample(t *testing.T) {
	_, err := Transition(StateInProgress, Start)
	if err.Error() != "meeting is in progress; only a scheduled meeting can be started" {
		t.Errorf("message = %q", err)
	}
}

// Every (state, activity) pair.
func TestAllowedEveryPair(t *testing.T) {
	in := map[Activity][]State{
		EditDetails:      {StateDraft, StateScheduled},
		EditAgenda:       {StateDraft, StateScheduled, StateInProgress},
		EditParticipants: {StateDraft, StateScheduled, StateInProgress},
		Respond:          {StateScheduled, StateInProgress},
		IssueCheckIn:     {StateScheduled, StateInProgress},
		CheckIn:          {StateScheduled, StateInProgress},
		MarkAttendance:   {StateScheduled, StateInProgress, StateEnded},
		AdvanceAgenda:    {StateInProgress},
	}
	for _, act := range Activities {
		for _, s := range States {
			err := Allowed(s, act)
			want := false
			for _, ok := range in[act] {
				want = want || ok == s
			}
			if want != (err == nil) {
				t.Errorf("Allowed(%v, %d) = %v, want allowed=%v", s, act, err, want)
			}
			var ie *IllegalError
			if err != nil && (!errors.As(err, &ie) || !strings.HasPrefix(err.Error(), "meeting is "+describe(s)+"; ")) {
				t.Errorf("Allowed(%v, %d) = %q: want an IllegalError starting with the state", s, act, err)
			}
		}
	}
	err := Allowed(StateEnded, EditAgenda)
	if want := "meeting is ended; the agenda can be changed only while the meeting is a draft, scheduled or in progress"; err.Error() != want {
		t.Errorf("message = %q, want %q", err, want)
	}
	if err := Allowed(StateDraft, Activity(99)); err == nil {
		t.Error("unknown activity allowed")
	}
}

func TestCheckReady(t *testing.T) {
	if err := CheckReady(StateDraft, Readiness{AgendaItems: 1, Chairs: 1, MinuteTakers: 2}); err != nil {
		t.Errorf("ready meeting refused: %v", err)
	}
	err := CheckReady(StateDraft, Readiness{})
	want := "meeting is a draft and needs at least one agenda item, a participant who chairs it, a participant who takes the minutes"
	if err == nil || err.Error() != want {
		t.Errorf("CheckReady(empty) = %v, want %q", err, want)
	}
	err = CheckReady(StateScheduled, Readiness{AgendaItems: 3, Chairs: 1})
	if err == nil || !strings.HasSuffix(err.Error(), "needs a participant who takes the minutes") {
		t.Errorf("CheckReady(no minute-taker) = %v", err)
	}
	for s, want := range map[State]bool{StateDraft: false, StateScheduled: true, StateInProgress: true, StateEnded: false, StateClosed: false, StateCancelled: false} {
		if MustStayReady(s) != want {
			t.Errorf("MustStayReady(%v) = %v", s, !want)
		}
	}
}
