package meetings

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	meetingsv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/meetings/v1"
	platformv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/platform/v1"
	"github.com/ecabinet/ecabinet/services/meetings/domain"
	"github.com/jackc/pgx/v5"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// maxParticipantInputs bounds one AddParticipants request (a whole
// grassroots committee's members fit easily).
const maxParticipantInputs = 500

func participantsChanged(action, reason, detail string) edit {
	return edit{
		event: "participants_changed",
		build: func(meta *platformv1.EventMeta, m *meetingsv1.Meeting) proto.Message {
			return &meetingsv1.ParticipantsChanged{Meta: meta, Meeting: m}
		},
		action: action,
		reason: reason,
		detail: detail,
	}
}

// participantInput is one validated entry of AddParticipants.participants.
type participantInput struct {
	index    int // in the request, for error fields
	personID string
	role     domain.Role
}

// newParticipant is a person about to join a meeting.
type newParticipant struct {
	member
	role       domain.Role
	bodyMember bool
	// index of the explicit request entry, -1 when added only as a member
	// of the body.
	index int
}

func validateParticipantInputs(fromBody bool, in []*meetingsv1.ParticipantInput) ([]participantInput, []domain.Violation) {
	var vs []domain.Violation
	if !fromBody && len(in) == 0 {
		vs = append(vs, domain.Violation{Field: "participants", Reason: domain.ReasonRequired,
			Description: "must name at least one person, unless from_body is set"})
	}
	if len(in) > maxParticipantInputs {
		return nil, append(vs, domain.Violation{Field: "participants", Reason: domain.ReasonOutOfRange,
			Description: fmt.Sprintf("must name at most %d people per request", maxParticipantInputs)})
	}
	out := make([]participantInput, 0, len(in))
	seen := map[string]bool{}
	for i, p := range in {
		field := fmt.Sprintf("participants[%d]", i)
		id, iv := domain.ParseID(field+".person_id", p.GetPersonId())
		vs = append(vs, iv...)
		vs = append(vs, domain.CheckRole(field+".role", p.GetRole())...)
		if len(iv) == 0 && seen[id] {
			vs = append(vs, domain.Violation{Field: field + ".person_id", Reason: domain.ReasonDuplicate, Description: "names a person twice"})
		}
		seen[id] = true
		out = append(out, participantInput{index: i, personID: id, role: p.GetRole()})
	}
	return out, vs
}

// resolveParticipants looks the people up in the directory: with fromBody
// every current member of the body joins as MEMBER; explicit entries join
// with their role (overriding MEMBER for someone also in the body). Body
// members keep their voting right; anyone else never votes. Unknown people
// are violations.
func resolveParticipants(ctx context.Context, dir people, org string, body meetingsv1.BodyKind, fromBody bool, in []participantInput) ([]newParticipant, []domain.Violation, error) {
	members, err := dir.Members(ctx, org, body)
	if err != nil {
		return nil, nil, fmt.Errorf("members of the body: %w", err)
	}
	inBody := make(map[string]member, len(members))
	for _, m := range members {
		inBody[m.PersonID] = m
	}
	var out []newParticipant
	at := map[string]int{} // person -> index in out
	if fromBody {
		for _, m := range members {
			at[m.PersonID] = len(out)
			out = append(out, newParticipant{member: m, role: domain.RoleMember, bodyMember: true, index: -1})
		}
	}
	var vs []domain.Violation
	for _, p := range in {
		np := newParticipant{role: p.role, index: p.index}
		if m, ok := inBody[p.personID]; ok {
			np.member, np.bodyMember = m, true
		} else {
			m, err := dir.Person(ctx, p.personID, org)
			if errors.Is(err, errUnknown) {
				vs = append(vs, domain.Violation{Field: fmt.Sprintf("participants[%d].person_id", p.index),
					Reason: domain.ReasonNotFound, Description: "is not a person in the directory"})
				continue
			}
			if err != nil {
				return nil, nil, fmt.Errorf("person %s: %w", p.personID, err)
			}
			np.member = m
		}
		if i, ok := at[p.personID]; ok {
			out[i] = np
			continue
		}
		at[p.personID] = len(out)
		out = append(out, np)
	}
	return out, vs, nil
}

// AddParticipants adds people to a meeting. People already taking part are
// skipped when they come from the body and refused when named explicitly
// (use UpdateParticipant to change a role).
func (a *api) AddParticipants(ctx context.Context, req *meetingsv1.AddParticipantsRequest) (*meetingsv1.AddParticipantsResponse, error) {
	c, err := a.caller(ctx)
	if err != nil {
		return nil, err
	}
	id, err := meetingID(req.GetMeetingId())
	if err != nil {
		return nil, err
	}
	inputs, vs := validateParticipantInputs(req.GetFromBody(), req.GetParticipants())

	// The directory is read before the meeting is locked (it has its own
	// connections; holding the lock meanwhile could starve the pool), so
	// first check access and input here, then re-check under the lock.
	row, acc, err := peek(ctx, a.s.d.Pool, c, id)
	if err != nil {
		return nil, a.s.rpcError(ctx, "AddParticipants", err)
	}
	if !acc.run {
		return nil, permissionDenied()
	}
	if len(vs) > 0 {
		return nil, invalid(vs)
	}
	body := row.m.GetBody()
	resolved, vs, err := resolveParticipants(ctx, a.s.dir, row.m.GetOrganizationId(), body, req.GetFromBody(), inputs)
	if err != nil {
		return nil, a.s.rpcError(ctx, "AddParticipants", err)
	}
	if len(vs) > 0 {
		return nil, invalid(vs)
	}

	m, err := a.s.change(ctx, c, "AddParticipants", id, needRun, func(ctx context.Context, st *txState) (edit, error) {
		if st.row.m.GetBody() != body {
			return edit{}, status.Errorf(codes.Aborted, "%s: the meeting's body changed while adding participants; retry", Name)
		}
		if err := domain.Allowed(st.row.m.GetState(), domain.EditParticipants); err != nil {
			return edit{}, illegal(err)
		}
		rows, err := st.tx.Query(ctx, `SELECT person_id::text FROM participants WHERE meeting_id = $1`, id)
		if err != nil {
			return edit{}, fmt.Errorf("read participants: %w", err)
		}
		existing, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return edit{}, fmt.Errorf("read participants: %w", err)
		}
		already := map[string]bool{}
		for _, p := range existing {
			already[p] = true
		}
		var vs []domain.Violation
		var added []string
		for _, p := range resolved {
			if already[p.PersonID] {
				if p.index >= 0 {
					vs = append(vs, domain.Violation{Field: fmt.Sprintf("participants[%d].person_id", p.index),
						Reason: domain.ReasonAlreadyAdded, Description: "already takes part in the meeting; change their role with UpdateParticipant"})
				}
				continue
			}
			if _, err := st.tx.Exec(ctx, `
				INSERT INTO participants (meeting_id, person_id, full_name, role, standing, body_member, excused)
				VALUES ($1, $2, $3, $4, $5, $6, $7)`,
				id, p.PersonID, p.FullName, p.role.String(), p.Standing.String(), p.bodyMember, p.Excused); err != nil {
				return edit{}, fmt.Errorf("insert participant: %w", err)
			}
			added = append(added, p.PersonID)
		}
		if len(vs) > 0 {
			return edit{}, invalid(vs)
		}
		if len(added) == 0 {
			return edit{noop: true}, nil
		}
		return participantsChanged("participants.added", "", fmt.Sprintf("%d added: %s", len(added), strings.Join(added, ", "))), nil
	})
	if err != nil {
		return nil, err
	}
	return &meetingsv1.AddParticipantsResponse{Meeting: m}, nil
}

func permissionDenied() error {
	return status.Errorf(codes.PermissionDenied,
		"%s: only the meeting's chair or minute-taker, or an administrator of its organisation, may do this", Name)
}

// participant reads one participant's role and attendance, or NotFound.
func participant(ctx context.Context, q querier, meetingID, personID string) (domain.Role, meetingsv1.Attendance, error) {
	var role, att string
	err := q.QueryRow(ctx, `SELECT role, attendance FROM participants WHERE meeting_id = $1 AND person_id = $2`,
		meetingID, personID).Scan(&role, &att)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, 0, status.Errorf(codes.NotFound, "%s: person %s does not take part in meeting %s", Name, personID, meetingID)
	}
	if err != nil {
		return 0, 0, fmt.Errorf("read participant: %w", err)
	}
	return domain.Role(meetingsv1.ParticipantRole_value[role]), meetingsv1.Attendance(meetingsv1.Attendance_value[att]), nil
}

func (a *api) UpdateParticipant(ctx context.Context, req *meetingsv1.UpdateParticipantRequest) (*meetingsv1.UpdateParticipantResponse, error) {
	c, err := a.caller(ctx)
	if err != nil {
		return nil, err
	}
	id, err := meetingID(req.GetMeetingId())
	if err != nil {
		return nil, err
	}
	personID, vs := domain.ParseID("person_id", req.GetPersonId())
	vs = append(vs, domain.CheckRole("role", req.GetRole())...)
	m, err := a.s.change(ctx, c, "UpdateParticipant", id, needRun, func(ctx context.Context, st *txState) (edit, error) {
		if len(vs) > 0 {
			return edit{}, invalid(vs)
		}
		role, _, err := participant(ctx, st.tx, id, personID)
		if err != nil {
			return edit{}, err
		}
		if err := domain.Allowed(st.row.m.GetState(), domain.EditParticipants); err != nil {
			return edit{}, illegal(err)
		}
		if role == req.GetRole() {
			return edit{noop: true}, nil
		}
		if _, err := st.tx.Exec(ctx, `UPDATE participants SET role = $3 WHERE meeting_id = $1 AND person_id = $2`,
			id, personID, req.GetRole().String()); err != nil {
			return edit{}, fmt.Errorf("update participant: %w", err)
		}
		if err := keepReady(ctx, st, id); err != nil {
			return edit{}, err
		}
		detail := fmt.Sprintf("%s: %s -> %s", personID, role, req.GetRole())
		// A role without a vote (guest, observer) ends their delegations.
		if f, _, err := readDelegationFacts(ctx, st.tx, id, personID); err != nil {
			return edit{}, err
		} else if !f.voting {
			cleared, err := clearDelegations(ctx, st.tx, id, personID)
			if err != nil {
				return edit{}, err
			}
			if len(cleared) > 0 {
				detail += "; delegations cleared: " + strings.Join(cleared, ", ")
			}
		}
		return participantsChanged("participant.role_changed", "", detail), nil
	})
	if err != nil {
		return nil, err
	}
	return &meetingsv1.UpdateParticipantResponse{Meeting: m}, nil
}

func (a *api) RemoveParticipant(ctx context.Context, req *meetingsv1.RemoveParticipantRequest) (*meetingsv1.RemoveParticipantResponse, error) {
	c, err := a.caller(ctx)
	if err != nil {
		return nil, err
	}
	id, err := meetingID(req.GetMeetingId())
	if err != nil {
		return nil, err
	}
	personID, vs := domain.ParseID("person_id", req.GetPersonId())
	m, err := a.s.change(ctx, c, "RemoveParticipant", id, needRun, func(ctx context.Context, st *txState) (edit, error) {
		if len(vs) > 0 {
			return edit{}, invalid(vs)
		}
		if _, _, err := participant(ctx, st.tx, id, personID); err != nil {
			return edit{}, err
		}
		if err := domain.Allowed(st.row.m.GetState(), domain.EditParticipants); err != nil {
			return edit{}, illegal(err)
		}
		// Items they were to present keep their place without a presenter.
		if _, err := st.tx.Exec(ctx, `UPDATE agenda_items SET presenter_id = NULL WHERE meeting_id = $1 AND presenter_id = $2`, id, personID); err != nil {
			return edit{}, fmt.Errorf("clear presenter: %w", err)
		}
		// A delegation ends when either side leaves.
		cleared, err := clearDelegations(ctx, st.tx, id, personID)
		if err != nil {
			return edit{}, err
		}
		if _, err := st.tx.Exec(ctx, `DELETE FROM participants WHERE meeting_id = $1 AND person_id = $2`, id, personID); err != nil {
			return edit{}, fmt.Errorf("delete participant: %w", err)
		}
		if err := keepReady(ctx, st, id); err != nil {
			return edit{}, err
		}
		detail := personID
		if len(cleared) > 0 {
			detail += "; delegations cleared: " + strings.Join(cleared, ", ")
		}
		e := participantsChanged("participant.removed", "", detail)
		// They learn they were removed: the app drops the meeting.
		e.alsoTell = []string{personID}
		return e, nil
	})
	if err != nil {
		return nil, err
	}
	return &meetingsv1.RemoveParticipantResponse{Meeting: m}, nil
}

// RespondToInvitation records the caller's own answer to the invitation.
func (a *api) RespondToInvitation(ctx context.Context, req *meetingsv1.RespondToInvitationRequest) (*meetingsv1.RespondToInvitationResponse, error) {
	c, err := a.caller(ctx)
	if err != nil {
		return nil, err
	}
	id, err := meetingID(req.GetMeetingId())
	if err != nil {
		return nil, err
	}
	reason, vs := domain.ValidateRsvp(req.GetRsvp(), req.GetAbsenceReason())
	m, err := a.s.change(ctx, c, "RespondToInvitation", id, needParticipant, func(ctx context.Context, st *txState) (edit, error) {
		if len(vs) > 0 {
			return edit{}, invalid(vs)
		}
		if err := domain.Allowed(st.row.m.GetState(), domain.Respond); err != nil {
			return edit{}, illegal(err)
		}
		tag, err := st.tx.Exec(ctx, `
			UPDATE participants SET rsvp = $3, absence_reason = $4
			WHERE meeting_id = $1 AND person_id = $2 AND (rsvp, absence_reason) IS DISTINCT FROM ($3, $4)`,
			id, c.Subject, req.GetRsvp().String(), reason)
		if err != nil {
			return edit{}, fmt.Errorf("record answer: %w", err)
		}
		if tag.RowsAffected() == 0 {
			return edit{noop: true}, nil
		}
		return participantsChanged("invitation.answered", reason, fmt.Sprintf("%s: %s", c.Subject, req.GetRsvp())), nil
	})
	if err != nil {
		return nil, err
	}
	return &meetingsv1.RespondToInvitationResponse{Meeting: m}, nil
}

// GetInvitationCalendar renders the meeting as an .ics file for anyone who
// may see it.
func (a *api) GetInvitationCalendar(ctx context.Context, req *meetingsv1.GetInvitationCalendarRequest) (*meetingsv1.GetInvitationCalendarResponse, error) {
	c, err := a.caller(ctx)
	if err != nil {
		return nil, err
	}
	id, err := meetingID(req.GetMeetingId())
	if err != nil {
		return nil, err
	}
	m, _, err := a.s.view(ctx, c, "GetInvitationCalendar", id)
	if err != nil {
		return nil, err
	}
	inv := domain.Invitation{
		MeetingID: m.GetId(),
		Title:     m.GetTitle(),
		Place:     m.GetPlace(),
		Online:    m.GetOnline(),
		Start:     m.GetStartsAt().AsTime(),
		End:       endsAt(m),
		Cancelled: m.GetState() == domain.StateCancelled,
		Sequence:  m.GetVersion(),
		Stamp:     time.Now(),
	}
	for _, it := range m.GetAgenda() {
		inv.Agenda = append(inv.Agenda, domain.InvitationItem{Title: it.GetTitle(), Presenter: it.GetPresenterName(), Minutes: int(it.GetDurationMinutes())})
	}
	return &meetingsv1.GetInvitationCalendarResponse{
		Ics:      domain.Calendar(inv),
		FileName: domain.FileName(m.GetTitle(), ".ics"),
	}, nil
}
