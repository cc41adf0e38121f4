package meetings

import (
	"context"
	"testing"
	"time"

	meetingsv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/meetings/v1"
	"github.com/ecabinet/ecabinet/services/meetings/domain"
	"github.com/ecabinet/ecabinet/services/platform/identity"
	"github.com/ecabinet/ecabinet/services/platform/testenv"
	"github.com/ecabinet/ecabinet/services/platform/unaccent"
	"github.com/google/uuid"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// The directory's rows are written with plain SQL (schema in
// migrations/00002_directory.sql), so these tests depend on the directory's
// tables but not on its code.

func (w *world) exec(t *testing.T, sql string, args ...any) {
	t.Helper()
	if _, err := w.pool.Exec(context.Background(), sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// org adds an organisation with the default 2/3 quorum rule.
func (w *world) org(t *testing.T, name, parent string) string {
	t.Helper()
	return w.orgWithRule(t, name, parent, 2, 3)
}

func (w *world) orgWithRule(t *testing.T, name, parent string, num, den int) string {
	t.Helper()
	id := uuid.NewString()
	kind := meetingsv1.OrganizationKind_ORGANIZATION_KIND_CELL
	if parent == "" {
		kind = meetingsv1.OrganizationKind_ORGANIZATION_KIND_BLOC_COMMITTEE
	}
	var p *string
	if parent != "" {
		p = &parent
	}
	w.exec(t, `INSERT INTO organizations (id, parent_id, name, kind, quorum_numerator, quorum_denominator)
		VALUES ($1, $2, $3, $4, $5, $6)`, id, p, name, kind.String(), num, den)
	return id
}

func (w *world) person(t *testing.T, name string) string {
	t.Helper()
	id := uuid.NewString()
	w.exec(t, `INSERT INTO people (id, full_name, name_folded) VALUES ($1, $2, $3)`, id, name, unaccent.Fold(name))
	return id
}

func (w *world) join(t *testing.T, person, org string, body meetingsv1.BodyKind, standing meetingsv1.Standing, excused bool) {
	t.Helper()
	w.exec(t, `INSERT INTO memberships (id, person_id, organization_id, body, role, standing, excused)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`, uuid.NewString(), person, org, body.String(),
		meetingsv1.PartyRole_PARTY_ROLE_MEMBER.String(), standing.String(), excused)
}

const (
	allMembers   = meetingsv1.BodyKind_BODY_KIND_ALL_MEMBERS
	official     = meetingsv1.Standing_STANDING_OFFICIAL
	probationary = meetingsv1.Standing_STANDING_PROBATIONARY
)

// cell is a party cell under a bloc committee, with a second cell beside
// it, and people in every position the authorisation rules distinguish.
type cell struct {
	parent, org, other string
	// Members of org (BODY_KIND_ALL_MEMBERS), all official except
	// probationary; excused is excused from party activities.
	chair, taker, m1, m2, m3, probationary, excused string
	// observer is a member of the bloc committee (parent); guest is in
	// the directory but no organisation; outsider is a member of other.
	observer, guest, outsider string
	// admin administers org; parentAdmin administers the bloc committee
	// and, as login expands it, org and other below it.
	admin, parentAdmin identity.Claims
	orgs               map[string][]string // person -> Orgs claim
}

func newCell(t *testing.T, w *world) *cell {
	t.Helper()
	c := &cell{orgs: map[string][]string{}}
	c.parent = w.org(t, "Đảng bộ Khối cơ quan tỉnh Yên Bái", "")
	c.org = w.org(t, "Chi bộ VNPT Văn Yên", c.parent)
	c.other = w.org(t, "Chi bộ Bưu điện Văn Yên", c.parent)
	add := func(name, org string, standing meetingsv1.Standing, excused bool) string {
		id := w.person(t, name)
		w.join(t, id, org, allMembers, standing, excused)
		c.orgs[id] = []string{org}
		return id
	}
	c.chair = add("Nguyễn Văn An", c.org, official, false)
	c.taker = add("Trần Thị Bình", c.org, official, false)
	c.m1 = add("Lê Văn Cường", c.org, official, false)
	c.m2 = add("Phạm Thị Dung", c.org, official, false)
	c.m3 = add("Hoàng Văn Em", c.org, official, false)
	c.probationary = add("Vũ Thị Giang", c.org, probationary, false)
	c.excused = add("Đặng Văn Hùng", c.org, official, true)
	c.observer = add("Bùi Thị Lan", c.parent, official, false)
	c.outsider = add("Đỗ Văn Minh", c.other, official, false)
	c.guest = w.person(t, "Ngô Thị Nga")
	c.admin = adminOf(c.org)
	c.parentAdmin = adminOf(c.parent, c.org, c.other)
	return c
}

// as is the identity of a person of the fixture, as login would issue it.
func (c *cell) as(person string) context.Context {
	return testenv.As(identity.Claims{Subject: person, Name: "người dùng", Orgs: c.orgs[person]})
}

func (c *cell) adminCtx() context.Context { return testenv.As(c.admin) }

// newMeetingReq is a regular cell meeting two days from now.
func newMeetingReq(org string) *meetingsv1.CreateMeetingRequest {
	s := time.Now().Add(48 * time.Hour).Truncate(time.Minute)
	return &meetingsv1.CreateMeetingRequest{
		OrganizationId: org,
		Title:          "Sinh hoạt chi bộ thường kỳ tháng 12",
		Kind:           meetingsv1.MeetingKind_MEETING_KIND_CELL_REGULAR,
		Place:          "Phòng họp số 2",
		StartsAt:       timestamppb.New(s),
		EndsAt:         timestamppb.New(s.Add(90 * time.Minute)),
	}
}

// draft creates a draft meeting of the cell.
func (w *world) draft(t *testing.T, c *cell) *meetingsv1.Meeting {
	t.Helper()
	return w.draftWith(t, c, newMeetingReq(c.org))
}

func (w *world) draftWith(t *testing.T, c *cell, req *meetingsv1.CreateMeetingRequest) *meetingsv1.Meeting {
	t.Helper()
	resp, err := w.client.CreateMeeting(c.adminCtx(), req)
	if err != nil {
		t.Fatalf("CreateMeeting: %v", err)
	}
	return resp.GetMeeting()
}

// prepare gives a draft every member of the cell (chair and minute-taker
// named), the bloc committee's observer, a guest and two agenda items.
func (w *world) prepare(t *testing.T, c *cell, m *meetingsv1.Meeting) *meetingsv1.Meeting {
	t.Helper()
	ctx := c.adminCtx()
	_, err := w.client.AddParticipants(ctx, &meetingsv1.AddParticipantsRequest{
		MeetingId: m.GetId(), FromBody: true,
		Participants: []*meetingsv1.ParticipantInput{
			{PersonId: c.chair, Role: domain.RoleChair},
			{PersonId: c.taker, Role: domain.RoleMinuteTaker},
			{PersonId: c.observer, Role: domain.RoleObserver},
			{PersonId: c.guest, Role: domain.RoleGuest},
		},
	})
	if err != nil {
		t.Fatalf("AddParticipants: %v", err)
	}
	for _, title := range []string{"Đánh giá kết quả thực hiện nhiệm vụ tháng 11", "Phương hướng nhiệm vụ tháng 12"} {
		if _, err := w.client.AddAgendaItem(ctx, &meetingsv1.AddAgendaItemRequest{MeetingId: m.GetId(), Title: title, DurationMinutes: 30}); err != nil {
			t.Fatalf("AddAgendaItem: %v", err)
		}
	}
	return w.get(t, c.adminCtx(), m.GetId())
}

func (w *world) get(t *testing.T, ctx context.Context, id string) *meetingsv1.Meeting {
	t.Helper()
	resp, err := w.client.GetMeeting(ctx, &meetingsv1.GetMeetingRequest{MeetingId: id})
	if err != nil {
		t.Fatalf("GetMeeting: %v", err)
	}
	return resp.GetMeeting()
}

// scheduled returns a prepared, scheduled meeting.
func (w *world) scheduled(t *testing.T, c *cell) *meetingsv1.Meeting {
	t.Helper()
	m := w.prepare(t, c, w.draft(t, c))
	resp, err := w.client.ScheduleMeeting(c.as(c.taker), &meetingsv1.ScheduleMeetingRequest{MeetingId: m.GetId()})
	if err != nil {
		t.Fatalf("ScheduleMeeting: %v", err)
	}
	return resp.GetMeeting()
}

// started returns a meeting in progress.
func (w *world) started(t *testing.T, c *cell) *meetingsv1.Meeting {
	t.Helper()
	m := w.scheduled(t, c)
	resp, err := w.client.StartMeeting(c.as(c.chair), &meetingsv1.StartMeetingRequest{MeetingId: m.GetId()})
	if err != nil {
		t.Fatalf("StartMeeting: %v", err)
	}
	return resp.GetMeeting()
}

func participantByID(m *meetingsv1.Meeting, id string) *meetingsv1.Participant {
	for _, p := range m.GetParticipants() {
		if p.GetPersonId() == id {
			return p
		}
	}
	return nil
}
