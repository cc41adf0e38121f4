// Package demo loads the demo deployment (`ecabinet -load-demo`, run by
// `make run`): a bloc committee with its grassroots organisations, about
// forty people, logins for a chair, a minute-taker, a member, an observer
// and a system administrator, and a standing-committee meeting today.
//
// Everything goes through the meetings service's public gRPC APIs, as an
// administrator would enter it, so the data obeys every rule the service
// enforces and produces the same events and audit records. Loading is
// idempotent: each organisation, person, membership and account is looked
// up before it is created, so a second run changes nothing, and a run that
// stopped half-way is completed by the next. On a later day a run adds
// that day's meeting, so the demo always has a meeting "today".
package demo

import (
	"context"
	"fmt"
	"slices"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	// The meeting is "today" in Vietnam wherever the loader runs; the
	// zone database is embedded so a minimal container has it too.
	_ "time/tzdata"

	meetingsv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/meetings/v1"
	"github.com/ecabinet/ecabinet/services/platform/identity"
)

// Loader is the identity the demo data is entered under (audit records and
// events name it as the actor).
var Loader = identity.Claims{Subject: "ecabinet-demo", Name: "Dữ liệu mẫu", Roles: []string{identity.RoleSystemAdmin}}

// Login is one demo account, as printed for the person trying the product.
type Login struct {
	Username, Password, Role string
	// Name and Title say who the account belongs to.
	Name, Title string
}

// Result is what a load did.
type Result struct {
	Logins    []Login
	BlocID    string
	MeetingID string
	// Created counts what this run added; 0 when everything was there.
	Created int
}

// Load makes sure the demo data exists, using conn (whose client
// interceptor signs the identity in the context; Load puts Loader there).
// now decides which day "today" is.
func Load(ctx context.Context, conn grpc.ClientConnInterface, now time.Time) (Result, error) {
	l := &loader{
		dir:      meetingsv1.NewDirectoryServiceClient(conn),
		accounts: meetingsv1.NewAccountsServiceClient(conn),
		meetings: meetingsv1.NewMeetingsServiceClient(conn),
		orgIDs:   map[string]string{},
		personID: map[string]string{},
	}
	ctx = identity.NewContext(ctx, Loader)
	steps := []struct {
		name string
		run  func(context.Context) error
	}{
		{"organisations", l.ensureOrganizations},
		{"people", l.ensurePeople},
		{"memberships", l.ensureMemberships},
		{"accounts", l.ensureAccounts},
		{"meeting", func(ctx context.Context) error { return l.ensureMeeting(ctx, now) }},
	}
	for _, s := range steps {
		if err := s.run(ctx); err != nil {
			return Result{}, fmt.Errorf("demo %s: %w", s.name, err)
		}
	}
	return Result{Logins: logins(), BlocID: l.orgIDs["bloc"], MeetingID: l.meetingID, Created: l.created}, nil
}

// logins lists the demo accounts in a fixed order.
func logins() []Login {
	byKey := map[string]person{}
	for _, p := range people {
		byKey[p.key] = p
	}
	var out []Login
	for _, a := range accounts {
		p := byKey[a.person]
		out = append(out, Login{Username: a.username, Password: Password, Role: a.role, Name: p.name, Title: p.title})
	}
	return out
}

type loader struct {
	dir      meetingsv1.DirectoryServiceClient
	accounts meetingsv1.AccountsServiceClient
	meetings meetingsv1.MeetingsServiceClient

	orgIDs    map[string]string // org key ("bloc", "vnpt", …) -> id
	personID  map[string]string // person key -> id
	meetingID string
	created   int
}

func (l *loader) ensureOrganizations(ctx context.Context) error {
	bloc, err := l.ensureOrg(ctx, "", BlocName, meetingsv1.OrganizationKind_ORGANIZATION_KIND_BLOC_COMMITTEE)
	if err != nil {
		return err
	}
	l.orgIDs["bloc"] = bloc
	for _, o := range orgs {
		parent := l.orgIDs["bloc"]
		if o.parent != "" {
			parent = l.orgIDs[o.parent]
		}
		id, err := l.ensureOrg(ctx, parent, o.name, o.kind)
		if err != nil {
			return err
		}
		l.orgIDs[o.key] = id
	}
	return nil
}

// ensureOrg finds the organisation named name directly under parent ("" =
// top level), or creates it.
func (l *loader) ensureOrg(ctx context.Context, parent, name string, kind meetingsv1.OrganizationKind) (string, error) {
	resp, err := l.dir.ListOrganizations(ctx, &meetingsv1.ListOrganizationsRequest{ParentId: parent})
	if err != nil {
		return "", fmt.Errorf("list organisations: %w", err)
	}
	for _, o := range resp.GetOrganizations() {
		if o.GetName() == name && o.GetParentId() == parent {
			return o.GetId(), nil
		}
	}
	created, err := l.dir.CreateOrganization(ctx, &meetingsv1.CreateOrganizationRequest{ParentId: parent, Name: name, Kind: kind})
	if err != nil {
		return "", fmt.Errorf("create %q: %w", name, err)
	}
	l.created++
	return created.GetOrganization().GetId(), nil
}

func (l *loader) ensurePeople(ctx context.Context) error {
	for _, p := range people {
		id, err := l.findPerson(ctx, p.card)
		if err != nil {
			return err
		}
		if id == "" {
			resp, err := l.dir.CreatePerson(ctx, &meetingsv1.CreatePersonRequest{FullName: p.name, PartyCardNumber: p.card})
			if err != nil {
				return fmt.Errorf("create %s: %w", p.name, err)
			}
			id = resp.GetPerson().GetId()
			l.created++
		}
		l.personID[p.key] = id
	}
	return nil
}

// findPerson looks a person up by party card number (unique), "" if absent.
func (l *loader) findPerson(ctx context.Context, card string) (string, error) {
	resp, err := l.dir.SearchPeople(ctx, &meetingsv1.SearchPeopleRequest{Query: card, PageSize: 5})
	if err != nil {
		return "", fmt.Errorf("search for card %s: %w", card, err)
	}
	for _, p := range resp.GetPeople() {
		if p.GetPartyCardNumber() == card {
			return p.GetId(), nil
		}
	}
	return "", nil
}

func (l *loader) ensureMemberships(ctx context.Context) error {
	current := map[string]map[string]bool{} // org key -> "person body" present
	for _, ms := range memberships {
		org := l.orgIDs[ms.org]
		if current[ms.org] == nil {
			resp, err := l.dir.ListMembers(ctx, &meetingsv1.ListMembersRequest{OrganizationId: org})
			if err != nil {
				return fmt.Errorf("list members of %s: %w", ms.org, err)
			}
			current[ms.org] = map[string]bool{}
			for _, x := range resp.GetMemberships() {
				current[ms.org][x.GetPersonId()+" "+x.GetBody().String()] = true
			}
		}
		person := l.personID[ms.person]
		if current[ms.org][person+" "+ms.body.String()] {
			continue
		}
		_, err := l.dir.AddMembership(ctx, &meetingsv1.AddMembershipRequest{
			PersonId: person, OrganizationId: org, Body: ms.body, Role: ms.role,
			Standing: ms.standing, Excused: ms.excused,
		})
		if err != nil && status.Code(err) != codes.AlreadyExists {
			return fmt.Errorf("add %s to %s (%s): %w", ms.person, ms.org, ms.body, err)
		}
		if err == nil {
			l.created++
		}
	}
	return nil
}

func (l *loader) ensureAccounts(ctx context.Context) error {
	for _, a := range accounts {
		req := &meetingsv1.CreateAccountRequest{PersonId: l.personID[a.person], Username: a.username, Password: Password}
		if a.systemAdmin {
			req.Roles = []string{identity.RoleSystemAdmin}
		}
		if a.adminOfBloc {
			req.AdminOrganizationIds = []string{l.orgIDs["bloc"]}
		}
		_, err := l.accounts.CreateAccount(ctx, req)
		switch {
		case err == nil:
			l.created++
		case status.Code(err) == codes.AlreadyExists:
			// The person already has an account (or the name is taken):
			// an earlier run made it; its password may since have changed.
		default:
			return fmt.Errorf("create account %s: %w", a.username, err)
		}
	}
	return nil
}

// vietnam is the zone that decides which day "today" is.
var vietnam = func() *time.Location {
	loc, err := time.LoadLocation("Asia/Ho_Chi_Minh")
	if err != nil {
		panic(err) // the zone database is embedded (time/tzdata)
	}
	return loc
}()

// meetingSlot is when today's demo meeting is held: 14:00–16:30 in Vietnam,
// or, once that has (nearly) begun, from the next quarter hour on, so the
// meeting is still ahead for whoever just started the demo; late at night,
// when no slot fits before midnight, the morning (already past) is used.
func meetingSlot(now time.Time) (start, end time.Time) {
	local := now.In(vietnam)
	day := time.Date(local.Year(), local.Month(), local.Day(), 0, 0, 0, 0, vietnam)
	start = day.Add(meetingStart)
	if local.Before(start.Add(-15 * time.Minute)) {
		return start, start.Add(meetingLength)
	}
	start = local.Truncate(15 * time.Minute).Add(30 * time.Minute)
	end = start.Add(meetingLength)
	midnight := day.AddDate(0, 0, 1)
	if end.After(midnight) {
		end = midnight.Add(-time.Minute)
	}
	if end.Sub(start) < time.Hour {
		start = day.Add(8 * time.Hour)
		end = start.Add(meetingLength)
	}
	return start, end
}

// ensureMeeting finds today's demo meeting or creates it, then completes
// whatever an interrupted run left out while it is still a draft:
// participants (the standing committee, the minute-taker, the observer),
// the chair, the agenda, and finally the invitations (schedule).
func (l *loader) ensureMeeting(ctx context.Context, now time.Time) error {
	start, end := meetingSlot(now)
	title := meetingTitle(start)
	m, err := l.findMeeting(ctx, title, start)
	if err != nil {
		return err
	}
	if m == nil {
		resp, err := l.meetings.CreateMeeting(ctx, &meetingsv1.CreateMeetingRequest{
			OrganizationId: l.orgIDs["bloc"],
			Title:          title,
			Kind:           meetingsv1.MeetingKind_MEETING_KIND_STANDING_COMMITTEE,
			Body:           standing,
			Place:          meetingPlace,
			StartsAt:       timestamppb.New(start),
			EndsAt:         timestamppb.New(end),
		})
		if err != nil {
			return fmt.Errorf("create meeting: %w", err)
		}
		m = resp.GetMeeting()
		l.created++
	}
	l.meetingID = m.GetId()
	if m.GetState() != meetingsv1.MeetingState_MEETING_STATE_DRAFT {
		return nil // scheduled (or further along): prepared already
	}

	// Participants first: presenters must take part.
	if len(m.GetParticipants()) == 0 {
		resp, err := l.meetings.AddParticipants(ctx, &meetingsv1.AddParticipantsRequest{MeetingId: m.GetId(), FromBody: true})
		if err != nil {
			return fmt.Errorf("add the standing committee: %w", err)
		}
		m = resp.GetMeeting()
		l.created++
	}
	var extra []*meetingsv1.ParticipantInput
	for _, p := range []struct {
		key  string
		role meetingsv1.ParticipantRole
	}{
		{"minutes", meetingsv1.ParticipantRole_PARTICIPANT_ROLE_MINUTE_TAKER},
		{"observer", meetingsv1.ParticipantRole_PARTICIPANT_ROLE_OBSERVER},
	} {
		if participant(m, l.personID[p.key]) == nil {
			extra = append(extra, &meetingsv1.ParticipantInput{PersonId: l.personID[p.key], Role: p.role})
		}
	}
	if len(extra) > 0 {
		resp, err := l.meetings.AddParticipants(ctx, &meetingsv1.AddParticipantsRequest{MeetingId: m.GetId(), Participants: extra})
		if err != nil {
			return fmt.Errorf("add the minute-taker and the observer: %w", err)
		}
		m = resp.GetMeeting()
		l.created++
	}
	chair := l.personID["chair"]
	if p := participant(m, chair); p == nil || p.GetRole() != meetingsv1.ParticipantRole_PARTICIPANT_ROLE_CHAIR {
		resp, err := l.meetings.UpdateParticipant(ctx, &meetingsv1.UpdateParticipantRequest{
			MeetingId: m.GetId(), PersonId: chair, Role: meetingsv1.ParticipantRole_PARTICIPANT_ROLE_CHAIR,
		})
		if err != nil {
			return fmt.Errorf("make the party secretary chair: %w", err)
		}
		m = resp.GetMeeting()
		l.created++
	}

	if len(m.GetAgenda()) == 0 {
		for _, item := range agenda(start) {
			resp, err := l.meetings.AddAgendaItem(ctx, &meetingsv1.AddAgendaItemRequest{
				MeetingId: m.GetId(), Title: item.title, PresenterId: l.personID[item.presenter], DurationMinutes: item.minutes,
			})
			if err != nil {
				return fmt.Errorf("add agenda item %q: %w", item.title, err)
			}
			m = resp.GetMeeting()
			l.created++
		}
	}

	if _, err := l.meetings.ScheduleMeeting(ctx, &meetingsv1.ScheduleMeetingRequest{MeetingId: m.GetId(), ExpectedVersion: m.GetVersion()}); err != nil {
		return fmt.Errorf("schedule: %w", err)
	}
	l.created++
	return nil
}

// findMeeting returns the bloc's meeting with this title on start's day,
// with its agenda and participants, or nil.
func (l *loader) findMeeting(ctx context.Context, title string, start time.Time) (*meetingsv1.Meeting, error) {
	day := start.In(vietnam).Format(time.DateOnly)
	token := ""
	for {
		resp, err := l.meetings.ListMeetings(ctx, &meetingsv1.ListMeetingsRequest{OrganizationId: l.orgIDs["bloc"], PageSize: 100, PageToken: token})
		if err != nil {
			return nil, fmt.Errorf("list meetings: %w", err)
		}
		for _, m := range resp.GetMeetings() {
			if m.GetTitle() == title && m.GetStartsAt().AsTime().In(vietnam).Format(time.DateOnly) == day &&
				m.GetState() != meetingsv1.MeetingState_MEETING_STATE_CANCELLED {
				got, err := l.meetings.GetMeeting(ctx, &meetingsv1.GetMeetingRequest{MeetingId: m.GetId()})
				if err != nil {
					return nil, fmt.Errorf("get meeting: %w", err)
				}
				return got.GetMeeting(), nil
			}
		}
		if token = resp.GetNextPageToken(); token == "" {
			return nil, nil
		}
	}
}

func participant(m *meetingsv1.Meeting, personID string) *meetingsv1.Participant {
	i := slices.IndexFunc(m.GetParticipants(), func(p *meetingsv1.Participant) bool { return p.GetPersonId() == personID })
	if i < 0 {
		return nil
	}
	return m.GetParticipants()[i]
}

// WaitReady waits until the meetings service reports itself serving
// (migrated, database and NATS reachable), or ctx ends.
func WaitReady(ctx context.Context, conn grpc.ClientConnInterface) error {
	health := healthpb.NewHealthClient(conn)
	for {
		resp, err := health.Check(ctx, &healthpb.HealthCheckRequest{Service: "meetings"})
		if err == nil && resp.GetStatus() == healthpb.HealthCheckResponse_SERVING {
			return nil
		}
		last := fmt.Sprint(err)
		if err == nil {
			last = resp.GetStatus().String()
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("the meetings service did not become ready (last answer: %s): %w", last, ctx.Err())
		case <-time.After(500 * time.Millisecond):
		}
	}
}
