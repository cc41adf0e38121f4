package meetings

import (
	"context"
	"testing"
	"time"

	meetingsv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/meetings/v1"
	"github.com/ecabinet/ecabinet/services/meetings/domain"
	"github.com/ecabinet/ecabinet/services/platform/testenv"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/types/known/timestamppb"
)

func ids(ms []*meetingsv1.Meeting) []string {
	out := []string{}
	for _, m := range ms {
		out = append(out, m.GetId())
	}
	return out
}

func TestListMyMeetings(t *testing.T) {
	w := newWorld(t)
	c := newCell(t, w)
	today, tomorrow := domain.DayBounds(time.Now())
	at := func(title string, starts time.Time, schedule bool) *meetingsv1.Meeting {
		t.Helper()
		req := newMeetingReq(c.org)
		req.Title, req.StartsAt, req.EndsAt = title, timestamppb.New(starts), nil
		m := w.prepare(t, c, w.draftWith(t, c, req))
		if schedule {
			r, err := w.client.ScheduleMeeting(c.adminCtx(), &meetingsv1.ScheduleMeetingRequest{MeetingId: m.GetId()})
			if err != nil {
				t.Fatal(err)
			}
			m = r.GetMeeting()
		}
		return m
	}
	past2 := at("Tháng trước", today.AddDate(0, -1, 0), true)
	past1 := at("Hôm qua", today.Add(-time.Hour), true)
	today1 := at("Sáng nay", today, true)
	today2 := at("Chiều nay", tomorrow.Add(-time.Minute), true)
	draftToday := at("Bản nháp hôm nay", today.Add(time.Hour), false)
	up1 := at("Ngày mai", tomorrow, true)
	up2 := at("Tuần sau", tomorrow.AddDate(0, 0, 7), true)

	list := func(ctx context.Context, p meetingsv1.Period) []string {
		t.Helper()
		var got []string
		req := &meetingsv1.ListMyMeetingsRequest{Period: p, PageSize: 1}
		for range 10 {
			r, err := w.client.ListMyMeetings(ctx, req)
			if err != nil {
				t.Fatalf("ListMyMeetings(%v): %v", p, err)
			}
			got = append(got, ids(r.GetMeetings())...)
			for _, m := range r.GetMeetings() {
				if m.GetMyRole() == 0 {
					t.Errorf("%s listed without my_role", m.GetTitle())
				}
			}
			if r.GetNextPageToken() == "" {
				return got
			}
			req.PageToken = r.GetNextPageToken()
		}
		t.Fatal("pagination does not end")
		return nil
	}
	member := c.as(c.m1)
	for p, want := range map[meetingsv1.Period][]string{
		meetingsv1.Period_PERIOD_TODAY:    ids([]*meetingsv1.Meeting{today1, today2}),
		meetingsv1.Period_PERIOD_UPCOMING: ids([]*meetingsv1.Meeting{up1, up2}),
		meetingsv1.Period_PERIOD_PAST:     ids([]*meetingsv1.Meeting{past1, past2}),
	} {
		if diff := cmp.Diff(want, list(member, p)); diff != "" {
			t.Errorf("member's %v (-want +got):\n%s", p, diff)
		}
	}
	// The minute-taker also sees the draft they are preparing.
	if diff := cmp.Diff(ids([]*meetingsv1.Meeting{today1, draftToday, today2}), list(c.as(c.taker), meetingsv1.Period_PERIOD_TODAY)); diff != "" {
		t.Errorf("minute-taker's today (-want +got):\n%s", diff)
	}
	// Someone invited to nothing, or not a person at all, has no meetings.
	for _, ctx := range []context.Context{c.as(c.outsider), c.adminCtx()} {
		if got := list(ctx, meetingsv1.Period_PERIOD_TODAY); len(got) != 0 {
			t.Errorf("uninvited caller lists %v", got)
		}
	}

	_, err := w.client.ListMyMeetings(member, &meetingsv1.ListMyMeetingsRequest{})
	if diff := cmp.Diff([]string{"period"}, testenv.ViolatedFields(t, err)); diff != "" {
		t.Errorf("no period (-want +got):\n%s", diff)
	}
	r, _ := w.client.ListMyMeetings(member, &meetingsv1.ListMyMeetingsRequest{Period: meetingsv1.Period_PERIOD_PAST, PageSize: 1})
	_, err = w.client.ListMyMeetings(member, &meetingsv1.ListMyMeetingsRequest{Period: meetingsv1.Period_PERIOD_TODAY, PageToken: r.GetNextPageToken()})
	if diff := cmp.Diff([]string{"page_token"}, testenv.ViolatedFields(t, err)); diff != "" {
		t.Errorf("token of another period (-want +got):\n%s", diff)
	}
	_, err = w.client.ListMyMeetings(member, &meetingsv1.ListMyMeetingsRequest{Period: 9, PageSize: -3})
	if diff := cmp.Diff([]string{"period", "page_size"}, testenv.ViolatedFields(t, err)); diff != "" {
		t.Errorf("bad period and size (-want +got):\n%s", diff)
	}
}

// Participants see a meeting of another organisation in ListMeetings too;
// administrators of the organisation above see their cells' meetings.
func TestListMeetingsVisibility(t *testing.T) {
	w := newWorld(t)
	c := newCell(t, w)
	m := w.prepare(t, c, w.draft(t, c))
	for name, tc := range map[string]struct {
		ctx    context.Context
		filter string
		want   []string
	}{
		"observer, all":          {c.as(c.observer), "", []string{m.GetId()}},
		"observer, by org":       {c.as(c.observer), c.org, []string{m.GetId()}},
		"observer, own org":      {c.as(c.observer), c.parent, []string{}},
		"guest, all":             {c.as(c.guest), "", []string{m.GetId()}},
		"parent admin":           {testenv.As(c.parentAdmin), c.org, []string{m.GetId()}},
		"outsider":               {c.as(c.outsider), "", []string{}},
		"outsider, by org":       {c.as(c.outsider), c.org, []string{}},
		"member, not a UUID org": {c.as(c.m1), "org-1", []string{}},
	} {
		r, err := w.client.ListMeetings(tc.ctx, &meetingsv1.ListMeetingsRequest{OrganizationId: tc.filter})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if diff := cmp.Diff(tc.want, ids(r.GetMeetings())); diff != "" {
			t.Errorf("%s (-want +got):\n%s", name, diff)
		}
	}
	// The observer reads the whole meeting.
	got := w.get(t, c.as(c.observer), m.GetId())
	if got.GetMyRole() != domain.RoleObserver || len(got.GetParticipants()) != 9 {
		t.Errorf("observer's view: role %v, %d participants", got.GetMyRole(), len(got.GetParticipants()))
	}
}
