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

func validRequest() *meetingsv1.CreateMeetingRequest {
	return &meetingsv1.CreateMeetingRequest{
		OrganizationId: "org-1",
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
		OrganizationID: "org-1",
		Title:          "H\u1ecdp chi bộ",
		Kind:           meetingsv1.MeetingKind_MEETING_KIND_STANDING_COMMITTEE,
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
		{"long organization", func(r *meetingsv1.CreateMeetingRequest) { r.OrganizationId = strings.Repeat("x", 129) }, []string{"organization_id:TOO_LONG"}},
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
