package domain

import (
	"strings"
	"testing"

	votingv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/voting/v1"
	"github.com/google/go-cmp/cmp"
)

const meetingID = "0190f3a2-7c4e-7b21-9a3d-5c6e7f801234"

func validRequest() *votingv1.CreatePollRequest {
	return &votingv1.CreatePollRequest{
		MeetingId:      meetingID,
		OrganizationId: "org-1",
		Title:          "Thông qua nghị quyết tháng 12",
		Kind:           votingv1.PollKind_POLL_KIND_MOTION,
	}
}

func TestMotionGetsDefaultChoices(t *testing.T) {
	d, vs := ValidateCreate(validRequest())
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
		if k == votingv1.PollKind_POLL_KIND_UNSPECIFIED || k == votingv1.PollKind_POLL_KIND_MOTION {
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
		{"no organization", func(r *votingv1.CreatePollRequest) { r.OrganizationId = "" }, []string{"organization_id:REQUIRED"}},
		{"bad agenda item", func(r *votingv1.CreatePollRequest) { r.AgendaItemId = "item-3" }, []string{"agenda_item_id:INVALID_FORMAT"}},
		{"no title", func(r *votingv1.CreatePollRequest) { r.Title = " " }, []string{"title:REQUIRED"}},
		{"long title", func(r *votingv1.CreatePollRequest) { r.Title = strings.Repeat("ạ", MaxTitleLen+1) }, []string{"title:TOO_LONG"}},
		{"no kind", func(r *votingv1.CreatePollRequest) { r.Kind = 0 }, []string{"kind:REQUIRED"}},
		{"unknown kind", func(r *votingv1.CreatePollRequest) { r.Kind = 77 }, []string{"kind:UNKNOWN_VALUE"}},
		{"election without candidates", func(r *votingv1.CreatePollRequest) { r.Kind = votingv1.PollKind_POLL_KIND_ELECTION }, []string{"choices:TOO_FEW"}},
		{"all missing", func(r *votingv1.CreatePollRequest) { *r = votingv1.CreatePollRequest{} },
			[]string{"meeting_id:REQUIRED", "organization_id:REQUIRED", "title:REQUIRED", "kind:REQUIRED"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := validRequest()
			tt.mutate(req)
			_, vs := ValidateCreate(req)
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
	req.Secret = true
	d, vs := ValidateCreate(req)
	if len(vs) != 0 {
		t.Fatalf("violations = %v", vs)
	}
	want := Draft{MeetingID: meetingID, OrganizationID: "org-1", AgendaItemID: meetingID,
		Title: "Biểu quyết", Kind: votingv1.PollKind_POLL_KIND_MOTION, Secret: true, Choices: MotionChoices()}
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
