package domain

import (
	"strings"
	"testing"
	"time"

	votingv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/voting/v1"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

const meetingID = "0190f3a2-7c4e-7b21-9a3d-5c6e7f801234"

var now = time.Date(2026, 11, 26, 8, 0, 0, 0, time.UTC)

func validRequest() *votingv1.CreatePollRequest {
	return &votingv1.CreatePollRequest{
		MeetingId:      meetingID,
		OrganizationId: "org-1",
		Title:          "Thông qua nghị quyết tháng 12",
		Kind:           votingv1.PollKind_POLL_KIND_MOTION,
	}
}

func TestMotionGetsDefaultChoices(t *testing.T) {
	d, vs := ValidateCreate(validRequest(), now)
	if len(vs) != 0 {
		t.Fatalf("violations = %v", vs)
	}
	want := []Choice{
		{ID: "agree", Label: "Tán thành"},
		{ID: "disagree", Label: "Không tán thành"},
		{ID: "abstain", Label: "Không biểu quyết"},
	}
	if diff := cmp.Diff(want, d.Choices); diff != "" {
		t.Errorf("choices (-want +got):\n%s", diff)
	}
	// Callers get their own slice: changing it cannot change the defaults.
	d.Choices[0].Label = "x"
	if MotionChoices()[0].Label != "Tán thành" {
		t.Error("MotionChoices shares its slice")
	}
}

func TestOnlyMotionsGetDefaults(t *testing.T) {
	for kind := range votingv1.PollKind_name {
		k := votingv1.PollKind(kind)
		if k == votingv1.PollKind_POLL_KIND_UNSPECIFIED || TakesMotionChoices(k) {
			continue
		}
		_, vs := Choices(k, nil)
		if diff := cmp.Diff([]Violation{{"choices", ReasonTooFew, "needs at least 2 choices, got 0"}}, vs); diff != "" {
			t.Errorf("%v without choices (-want +got):\n%s", k, diff)
		}
	}
}

func TestCustomChoices(t *testing.T) {
	// A motion may also bring its own wording.
	for _, kind := range []votingv1.PollKind{votingv1.PollKind_POLL_KIND_MOTION, votingv1.PollKind_POLL_KIND_ELECTION} {
		got, vs := Choices(kind, []string{" Nguyễn Văn A ", "Tra\u0302\u0300n Thi\u0323 B"})
		if len(vs) != 0 {
			t.Fatalf("%v: violations = %v", kind, vs)
		}
		want := []Choice{{ID: "c1", Label: "Nguyễn Văn A"}, {ID: "c2", Label: "Trần Thị B"}}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%v choices (-want +got):\n%s", kind, diff)
		}
	}
}

func TestChoiceViolations(t *testing.T) {
	kind := votingv1.PollKind_POLL_KIND_SINGLE_CHOICE
	tests := []struct {
		name   string
		labels []string
		want   []string
	}{
		{"one choice", []string{"Có"}, []string{"choices:TOO_FEW"}},
		{"too many", make([]string, MaxChoices+1), []string{"choices:TOO_MANY"}},
		{"empty label", []string{"Có", "  "}, []string{"choices[1]:REQUIRED"}},
		{"duplicate ignoring case", []string{"Đồng ý", "Không", "đồng ý"}, []string{"choices[2]:DUPLICATE"}},
		// Precomposed and decomposed spellings are the same label.
		{"duplicate after normalisation", []string{"Hợp lệ", "Ho\u031b\u0323p lê\u0323", "Khác"}, []string{"choices[1]:DUPLICATE"}},
		{"long label", []string{"Có", strings.Repeat("ư", MaxChoiceLen+1)}, []string{"choices[1]:TOO_LONG"}},
		{"line break", []string{"Có\nKhông", "Khác"}, []string{"choices[0]:INVALID_CHARACTER"}},
		{"two bad", []string{"", "A", "a"}, []string{"choices[0]:REQUIRED", "choices[2]:DUPLICATE"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			choices, vs := Choices(kind, tt.labels)
			if diff := cmp.Diff(tt.want, fields(vs)); diff != "" {
				t.Errorf("violations (-want +got):\n%s", diff)
			}
			if choices != nil {
				t.Errorf("choices = %v alongside violations", choices)
			}
		})
	}
}

func TestValidateCreateViolations(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*votingv1.CreatePollRequest)
		want   []string
	}{
		{"no meeting", func(r *votingv1.CreatePollRequest) { r.MeetingId = "" }, []string{"meeting_id:REQUIRED"}},
		{"bad meeting", func(r *votingv1.CreatePollRequest) { r.MeetingId = "meeting-1" }, []string{"meeting_id:INVALID_FORMAT"}},
		{"long organization", func(r *votingv1.CreatePollRequest) { r.OrganizationId = strings.Repeat("o", MaxOrganizationIDLen+1) }, []string{"organization_id:TOO_LONG"}},
		{"bad agenda item", func(r *votingv1.CreatePollRequest) { r.AgendaItemId = "item-3" }, []string{"agenda_item_id:INVALID_FORMAT"}},
		{"no title", func(r *votingv1.CreatePollRequest) { r.Title = " " }, []string{"title:REQUIRED"}},
		{"long title", func(r *votingv1.CreatePollRequest) { r.Title = strings.Repeat("ạ", MaxTitleLen+1) }, []string{"title:TOO_LONG"}},
		{"no kind", func(r *votingv1.CreatePollRequest) { r.Kind = 0 }, []string{"kind:REQUIRED"}},
		{"unknown kind", func(r *votingv1.CreatePollRequest) { r.Kind = 77 }, []string{"kind:UNKNOWN_VALUE"}},
		{"election without candidates", func(r *votingv1.CreatePollRequest) { r.Kind = votingv1.PollKind_POLL_KIND_ELECTION }, []string{"choices:TOO_FEW", "seats:REQUIRED"}},
		{"too many seats", func(r *votingv1.CreatePollRequest) {
			r.Kind, r.Choices, r.Seats = votingv1.PollKind_POLL_KIND_ELECTION, []string{"A", "B"}, 3
		}, []string{"seats:OUT_OF_RANGE"}},
		{"seats on a motion", func(r *votingv1.CreatePollRequest) { r.Seats = 2 }, []string{"seats:NOT_ALLOWED"}},
		{"min above max", func(r *votingv1.CreatePollRequest) {
			r.Kind, r.Choices, r.MinChoices, r.MaxChoices = votingv1.PollKind_POLL_KIND_MULTIPLE_CHOICE, []string{"A", "B", "C"}, 3, 2
		}, []string{"max_choices:OUT_OF_RANGE"}},
		{"max above choices", func(r *votingv1.CreatePollRequest) {
			r.Kind, r.Choices, r.MaxChoices = votingv1.PollKind_POLL_KIND_MULTIPLE_CHOICE, []string{"A", "B"}, 3
		}, []string{"max_choices:OUT_OF_RANGE"}},
		{"min on single choice", func(r *votingv1.CreatePollRequest) {
			r.Kind, r.Choices, r.MinChoices = votingv1.PollKind_POLL_KIND_SINGLE_CHOICE, []string{"A", "B"}, 1
		}, []string{"min_choices:NOT_ALLOWED"}},
		{"deadline in the past", func(r *votingv1.CreatePollRequest) { r.Deadline = timestamppb.New(now.Add(-time.Minute)) },
			[]string{"deadline:OUT_OF_RANGE"}},
		{"deadline now", func(r *votingv1.CreatePollRequest) { r.Deadline = timestamppb.New(now) }, []string{"deadline:OUT_OF_RANGE"}},
		{"written without deadline, body, organisation; with a meeting", func(r *votingv1.CreatePollRequest) {
			r.Kind, r.OrganizationId = votingv1.PollKind_POLL_KIND_WRITTEN_OPINION, ""
		}, []string{"meeting_id:NOT_ALLOWED", "organization_id:REQUIRED", "deadline:REQUIRED", "body:REQUIRED"}},
		{"written to an unknown body", func(r *votingv1.CreatePollRequest) {
			r.Kind, r.MeetingId, r.Body, r.Deadline = votingv1.PollKind_POLL_KIND_WRITTEN_OPINION, "", "BODY_KIND_CHOIR", timestamppb.New(now.Add(time.Hour))
		}, []string{"body:UNKNOWN_VALUE"}},
		{"secret show of hands", func(r *votingv1.CreatePollRequest) {
			r.Kind, r.Secret = votingv1.PollKind_POLL_KIND_SHOW_OF_HANDS, proto.Bool(true)
		},
			[]string{"secret:NOT_ALLOWED"}},
		{"body on a meeting's poll", func(r *votingv1.CreatePollRequest) { r.Body = "BODY_KIND_ALL_MEMBERS" }, []string{"body:NOT_ALLOWED"}},
		{"quorum without denominator", func(r *votingv1.CreatePollRequest) { r.Rules = &votingv1.Rules{QuorumNumerator: 1} },
			[]string{"rules.quorum_denominator:REQUIRED"}},
		{"quorum above all", func(r *votingv1.CreatePollRequest) {
			r.Rules = &votingv1.Rules{QuorumNumerator: 4, QuorumDenominator: 3}
		},
			[]string{"rules.quorum_numerator:OUT_OF_RANGE"}},
		{"unknown majority", func(r *votingv1.CreatePollRequest) { r.Rules = &votingv1.Rules{Majority: 9, MajorityBase: 9} },
			[]string{"rules.majority:UNKNOWN_VALUE", "rules.majority_base:UNKNOWN_VALUE"}},
		{"all missing", func(r *votingv1.CreatePollRequest) { *r = votingv1.CreatePollRequest{} },
			[]string{"meeting_id:REQUIRED", "title:REQUIRED", "kind:REQUIRED"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := validRequest()
			tt.mutate(req)
			_, vs := ValidateCreate(req, now)
			if diff := cmp.Diff(tt.want, fields(vs)); diff != "" {
				t.Errorf("violations (-want +got):\n%s\nall: %v", diff, vs)
			}
		})
	}
}

func TestValidateCreateNormalises(t *testing.T) {
	req := validRequest()
	req.MeetingId = strings.ToUpper(meetingID)
	req.AgendaItemId = "{" + meetingID + "}"
	req.Title = "  Bi\u00ea\u0309u quy\u00ea\u0301t  "
	req.Secret = proto.Bool(true)
	d, vs := ValidateCreate(req, now)
	if len(vs) != 0 {
		t.Fatalf("violations = %v", vs)
	}
	want := Draft{MeetingID: meetingID, OrganizationID: "org-1", AgendaItemID: meetingID,
		Title: "Biểu quyết", Kind: votingv1.PollKind_POLL_KIND_MOTION, Secret: true, Choices: MotionChoices(),
		Rules: Rules{QuorumNum: 2, QuorumDen: 3, Majority: votingv1.Majority_MAJORITY_MORE_THAN_HALF,
			Base: votingv1.MajorityBase_MAJORITY_BASE_ALL_MEMBERS}}
	if diff := cmp.Diff(want, d); diff != "" {
		t.Errorf("draft (-want +got):\n%s", diff)
	}
}

func fields(vs []Violation) []string {
	var out []string
	for _, v := range vs {
		out = append(out, v.Field+":"+v.Reason)
	}
	return out
}

func TestValidateWrittenOpinion(t *testing.T) {
	deadline := now.Add(72 * time.Hour)
	d, vs := ValidateCreate(&votingv1.CreatePollRequest{OrganizationId: "org-1", Title: "Lấy ý kiến về quy chế",
		Kind: votingv1.PollKind_POLL_KIND_WRITTEN_OPINION, Body: "BODY_KIND_EXECUTIVE_COMMITTEE",
		Deadline: timestamppb.New(deadline)}, now)
	if len(vs) != 0 {
		t.Fatalf("violations = %v", vs)
	}
	want := Draft{OrganizationID: "org-1", Title: "Lấy ý kiến về quy chế", Kind: votingv1.PollKind_POLL_KIND_WRITTEN_OPINION,
		Choices: MotionChoices(), Deadline: deadline, Body: "BODY_KIND_EXECUTIVE_COMMITTEE",
		// No quorum for a written opinion; more than half of all members.
		Rules: Rules{QuorumNum: 0, QuorumDen: 1, Majority: votingv1.Majority_MAJORITY_MORE_THAN_HALF,
			Base: votingv1.MajorityBase_MAJORITY_BASE_ALL_MEMBERS}}
	if diff := cmp.Diff(want, d); diff != "" {
		t.Errorf("draft (-want +got):\n%s", diff)
	}
}

func TestDefaultRulesPerKind(t *testing.T) {
	cands := []string{"A", "B", "C"}
	tests := []struct {
		kind    votingv1.PollKind
		choices []string
		want    Rules
	}{
		{votingv1.PollKind_POLL_KIND_MOTION, nil, Rules{2, 3, votingv1.Majority_MAJORITY_MORE_THAN_HALF, votingv1.MajorityBase_MAJORITY_BASE_ALL_MEMBERS}},
		{votingv1.PollKind_POLL_KIND_ELECTION, cands, Rules{2, 3, votingv1.Majority_MAJORITY_MORE_THAN_HALF, votingv1.MajorityBase_MAJORITY_BASE_ELECTION}},
		{votingv1.PollKind_POLL_KIND_SINGLE_CHOICE, cands, Rules{2, 3, votingv1.Majority_MAJORITY_UNSPECIFIED, votingv1.MajorityBase_MAJORITY_BASE_UNSPECIFIED}},
		{votingv1.PollKind_POLL_KIND_SHOW_OF_HANDS, nil, Rules{2, 3, votingv1.Majority_MAJORITY_MORE_THAN_HALF, votingv1.MajorityBase_MAJORITY_BASE_ALL_MEMBERS}},
		{votingv1.PollKind_POLL_KIND_SHOW_OF_HANDS, cands, Rules{2, 3, votingv1.Majority_MAJORITY_UNSPECIFIED, votingv1.MajorityBase_MAJORITY_BASE_UNSPECIFIED}},
	}
	for _, tt := range tests {
		choices, _ := Choices(tt.kind, tt.choices)
		got, vs := EffectiveRules(tt.kind, choices, nil)
		if len(vs) != 0 || got != tt.want {
			t.Errorf("%v %v: rules %+v %v, want %+v", tt.kind, tt.choices, got, vs, tt.want)
		}
	}
	// Asking for a base alone asks for more than half of it.
	got, _ := EffectiveRules(votingv1.PollKind_POLL_KIND_SINGLE_CHOICE, nil,
		&votingv1.Rules{MajorityBase: votingv1.MajorityBase_MAJORITY_BASE_VALID_VOTES, QuorumNumerator: 0, QuorumDenominator: 1})
	if want := (Rules{0, 1, votingv1.Majority_MAJORITY_MORE_THAN_HALF, votingv1.MajorityBase_MAJORITY_BASE_VALID_VOTES}); got != want {
		t.Errorf("base only: %+v, want %+v", got, want)
	}
}

// Secret ballot is the default for an election (issue 5); an explicit
// answer is kept; other kinds stay open unless asked.
func TestSecretByDefaultForElections(t *testing.T) {
	tests := []struct {
		name   string
		kind   votingv1.PollKind
		secret *bool
		want   bool
	}{
		{"election, unset", votingv1.PollKind_POLL_KIND_ELECTION, nil, true},
		{"election, explicitly open", votingv1.PollKind_POLL_KIND_ELECTION, proto.Bool(false), false},
		{"election, explicitly secret", votingv1.PollKind_POLL_KIND_ELECTION, proto.Bool(true), true},
		{"motion, unset", votingv1.PollKind_POLL_KIND_MOTION, nil, false},
		{"motion, explicitly secret", votingv1.PollKind_POLL_KIND_MOTION, proto.Bool(true), true},
		{"show of hands, unset", votingv1.PollKind_POLL_KIND_SHOW_OF_HANDS, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := validRequest()
			req.Kind, req.Secret, req.Choices = tt.kind, tt.secret, []string{"Nguyễn A", "Trần B"}
			if tt.kind == votingv1.PollKind_POLL_KIND_ELECTION {
				req.Seats = 1
			}
			d, vs := ValidateCreate(req, now)
			if len(vs) != 0 {
				t.Fatalf("violations = %v", vs)
			}
			if d.Secret != tt.want {
				t.Errorf("secret = %v, want %v", d.Secret, tt.want)
			}
		})
	}
}
