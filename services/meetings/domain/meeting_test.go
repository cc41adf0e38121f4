package domain

import (
	"strings"
	"testing"
	"time"

	meetingsv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/meetings/v1"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/types/known/timestamppb"
)

var start = time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)

const orgID = "0193a6a2-0000-7000-8000-000000000001"

func validRequest() *meetingsv1.CreateMeetingRequest {
	return &meetingsv1.CreateMeetingRequest{
		OrganizationId: orgID,
		Title:          "Họp Ban Thường vụ tháng 12",
		Kind:           meetingsv1.MeetingKind_MEETING_KIND_STANDING_COMMITTEE,
		Place:          "Phòng họp tầng 3",
		StartsAt:       timestamppb.New(start),
		EndsAt:         timestamppb.New(start.Add(2 * time.Hour)),
	}
}

func TestValidateCreateAcceptsAndNormalises(t *testing.T) {
	req := validRequest()
	// "Họp" typed with combining marks (o + U+0323 dot below), padded with spaces.
	req.Title = "  Ho\u0323p chi bộ  "
	req.Place = " Hội trường "
	d, vs := ValidateCreate(req)
	if len(vs) != 0 {
		t.Fatalf("violations = %v, want none", vs)
	}
	want := Draft{
		OrganizationID: orgID,
		Title:          "H\u1ecdp chi bộ",
		Kind:           meetingsv1.MeetingKind_MEETING_KIND_STANDING_COMMITTEE,
		Body:           meetingsv1.BodyKind_BODY_KIND_STANDING_COMMITTEE,
		Place:          "Hội trường",
		StartsAt:       start,
		EndsAt:         start.Add(2 * time.Hour),
	}
	if diff := cmp.Diff(want, d); diff != "" {
		t.Errorf("draft (-want +got):\n%s", diff)
	}
}

func TestValidateCreateWithoutEndOrPlace(t *testing.T) {
	req := validRequest()
	req.EndsAt = nil
	req.Place = ""
	req.Online = true
	d, vs := ValidateCreate(req)
	if len(vs) != 0 {
		t.Fatalf("violations = %v, want none", vs)
	}
	if !d.EndsAt.IsZero() || d.Place != "" || !d.Online {
		t.Errorf("draft = %+v, want no end, no place, online", d)
	}
}

func TestTitleLengthCountsComposedCharacters(t *testing.T) {
	// 300 "ộ" typed decomposed are 900 code points but 300 characters once
	// composed: the limit applies to what is stored.
	req := validRequest()
	req.Title = strings.Repeat("o\u0323\u0302", MaxTitleLen)
	if _, vs := ValidateCreate(req); len(vs) != 0 {
		t.Fatalf("300 composed characters: violations = %v, want none", vs)
	}
	req.Title = strings.Repeat("ộ", MaxTitleLen+1)
	_, vs := ValidateCreate(req)
	if got := fields(vs); !cmp.Equal(got, []string{"title:TOO_LONG"}) {
		t.Fatalf("301 characters: violations = %v", vs)
	}
	// Surrounding space does not count.
	req.Title = "   " + strings.Repeat("a", MaxTitleLen) + "\n "
	if _, vs := ValidateCreate(req); len(vs) != 0 {
		t.Fatalf("padded 300 characters: violations = %v, want none", vs)
	}
}

func TestValidateCreateViolations(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*meetingsv1.CreateMeetingRequest)
		want   []string // field:reason
	}{
		{"no organization", func(r *meetingsv1.CreateMeetingRequest) { r.OrganizationId = " " }, []string{"organization_id:REQUIRED"}},
		{"organization not a UUID", func(r *meetingsv1.CreateMeetingRequest) { r.OrganizationId = "org-1" }, []string{"organization_id:INVALID_FORMAT"}},
		{"unknown body", func(r *meetingsv1.CreateMeetingRequest) { r.Body = 42 }, []string{"body:UNKNOWN_VALUE"}},
		{"no title", func(r *meetingsv1.CreateMeetingRequest) { r.Title = "" }, []string{"title:REQUIRED"}},
		{"blank title", func(r *meetingsv1.CreateMeetingRequest) { r.Title = " \t\n" }, []string{"title:REQUIRED"}},
		{"line break in title", func(r *meetingsv1.CreateMeetingRequest) { r.Title = "Họp\nchi bộ" }, []string{"title:INVALID_CHARACTER"}},
		{"long place", func(r *meetingsv1.CreateMeetingRequest) { r.Place = strings.Repeat("p", 301) }, []string{"place:TOO_LONG"}},
		{"no kind", func(r *meetingsv1.CreateMeetingRequest) { r.Kind = 0 }, []string{"kind:REQUIRED"}},
		{"unknown kind", func(r *meetingsv1.CreateMeetingRequest) { r.Kind = 99 }, []string{"kind:UNKNOWN_VALUE"}},
		{"no start", func(r *meetingsv1.CreateMeetingRequest) { r.StartsAt = nil }, []string{"starts_at:REQUIRED"}},
		{"bad start", func(r *meetingsv1.CreateMeetingRequest) { r.StartsAt = &timestamppb.Timestamp{Nanos: -1} }, []string{"starts_at:INVALID_TIMESTAMP"}},
		{"bad end", func(r *meetingsv1.CreateMeetingRequest) { r.EndsAt = &timestamppb.Timestamp{Seconds: 1 << 62} }, []string{"ends_at:INVALID_TIMESTAMP"}},
		{"end equals start", func(r *meetingsv1.CreateMeetingRequest) { r.EndsAt = r.StartsAt }, []string{"ends_at:OUT_OF_ORDER"}},
		{"end before start", func(r *meetingsv1.CreateMeetingRequest) { r.EndsAt = timestamppb.New(start.Add(-time.Minute)) }, []string{"ends_at:OUT_OF_ORDER"}},
		{"everything wrong at once", func(r *meetingsv1.CreateMeetingRequest) {
			*r = meetingsv1.CreateMeetingRequest{EndsAt: timestamppb.New(start)}
		}, []string{"organization_id:REQUIRED", "title:REQUIRED", "kind:REQUIRED", "starts_at:REQUIRED"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := validRequest()
			tt.mutate(req)
			_, vs := ValidateCreate(req)
			if diff := cmp.Diff(tt.want, fields(vs)); diff != "" {
				t.Errorf("violations (-want +got):\n%s\nall: %v", diff, vs)
			}
			for _, v := range vs {
				if v.Description == "" {
					t.Errorf("violation %s has no description", v.Field)
				}
			}
		})
	}
}

func fields(vs []Violation) []string {
	var out []string
	for _, v := range vs {
		out = append(out, v.Field+":"+v.Reason)
	}
	return out
}

func TestDefaultBodyFollowsKind(t *testing.T) {
	for kind, want := range map[meetingsv1.MeetingKind]meetingsv1.BodyKind{
		meetingsv1.MeetingKind_MEETING_KIND_EXECUTIVE_COMMITTEE: meetingsv1.BodyKind_BODY_KIND_EXECUTIVE_COMMITTEE,
		meetingsv1.MeetingKind_MEETING_KIND_STANDING_COMMITTEE:  meetingsv1.BodyKind_BODY_KIND_STANDING_COMMITTEE,
		meetingsv1.MeetingKind_MEETING_KIND_STANDING_MEMBERS:    meetingsv1.BodyKind_BODY_KIND_STANDING_MEMBERS,
		meetingsv1.MeetingKind_MEETING_KIND_CELL_REGULAR:        meetingsv1.BodyKind_BODY_KIND_ALL_MEMBERS,
		meetingsv1.MeetingKind_MEETING_KIND_CELL_THEMATIC:       meetingsv1.BodyKind_BODY_KIND_ALL_MEMBERS,
		meetingsv1.MeetingKind_MEETING_KIND_RESOLUTION_STUDY:    meetingsv1.BodyKind_BODY_KIND_ALL_MEMBERS,
	} {
		req := validRequest()
		req.Kind = kind
		d, vs := ValidateCreate(req)
		if len(vs) != 0 || d.Body != want {
			t.Errorf("kind %v: body %v, violations %v; want %v", kind, d.Body, vs, want)
		}
	}
	// An explicit body wins.
	req := validRequest()
	req.Body = meetingsv1.BodyKind_BODY_KIND_ALL_MEMBERS
	if d, _ := ValidateCreate(req); d.Body != meetingsv1.BodyKind_BODY_KIND_ALL_MEMBERS {
		t.Errorf("explicit body replaced by %v", d.Body)
	}
}

func TestValidateUpdate(t *testing.T) {
	req := &meetingsv1.UpdateMeetingRequest{
		ExpectedVersion: 3, Title: " Họp ", StartsAt: timestamppb.New(start), EndsAt: timestamppb.New(start.Add(time.Hour)),
	}
	d, vs := ValidateUpdate(req)
	if len(vs) != 0 || d.Title != "Họp" || d.Body != meetingsv1.BodyKind_BODY_KIND_UNSPECIFIED {
		t.Fatalf("update = %+v, %v", d, vs)
	}
	bad := &meetingsv1.UpdateMeetingRequest{Body: 9, StartsAt: timestamppb.New(start), EndsAt: timestamppb.New(start)}
	_, vs = ValidateUpdate(bad)
	want := []string{"expected_version:REQUIRED", "title:REQUIRED", "body:UNKNOWN_VALUE", "ends_at:OUT_OF_ORDER"}
	if diff := cmp.Diff(want, fields(vs)); diff != "" {
		t.Errorf("violations (-want +got):\n%s", diff)
	}
	bad.ExpectedVersion = -1
	if _, vs := ValidateUpdate(bad); fields(vs)[0] != "expected_version:OUT_OF_RANGE" {
		t.Errorf("negative version: %v", vs)
	}
}

func TestValidateReasonKeepsLineBreaks(t *testing.T) {
	r, vs := ValidateReason("reason", " Hoãn vì bão\r\nsố 9 ", true)
	if len(vs) != 0 || r != "Hoãn vì bão\nsố 9" {
		t.Errorf("reason = %q, %v", r, vs)
	}
	for in, want := range map[string]string{
		"":                                  "reason:REQUIRED",
		"  \n ":                             "reason:REQUIRED",
		"a\x00b":                            "reason:INVALID_CHARACTER",
		strings.Repeat("x", MaxReasonLen+1): "reason:TOO_LONG",
	} {
		_, vs := ValidateReason("reason", in, true)
		if got := fields(vs); len(got) != 1 || got[0] != want {
			t.Errorf("ValidateReason(%q) = %v, want %s", in, got, want)
		}
	}
}

func TestParseID(t *testing.T) {
	id, vs := ParseID("x", " 0193A6A2-0000-7000-8000-000000000001 ")
	if len(vs) != 0 || id != "0193a6a2-0000-7000-8000-000000000001" {
		t.Errorf("ParseID = %q, %v", id, vs)
	}
	for in, want := range map[string]string{"": "x:REQUIRED", "org-1": "x:INVALID_FORMAT",
		"{0193a6a2-0000-7000-8000-000000000001}": "x:INVALID_FORMAT", "0193a6a200007000800000000000000": "x:INVALID_FORMAT"} {
		if _, vs := ParseID("x", in); !cmp.Equal(fields(vs), []string{want}) {
			t.Errorf("ParseID(%q) = %v, want %s", in, vs, want)
		}
	}
}
