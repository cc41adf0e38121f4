package meetings

import (
	"context"
	"errors"
	"fmt"
	"time"

	meetingsv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/meetings/v1"
	platformv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/platform/v1"
	"github.com/ecabinet/ecabinet/services/meetings/domain"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"
)

func attendanceChanged(personID string, att meetingsv1.Attendance, action, reason string) edit {
	return edit{
		event: "attendance_changed",
		build: func(meta *platformv1.EventMeta, m *meetingsv1.Meeting) proto.Message {
			return &meetingsv1.AttendanceChanged{Meta: meta, Meeting: m, PersonId: personID, Attendance: att}
		},
		action: action,
		reason: reason,
		detail: fmt.Sprintf("%s: %s", personID, att),
	}
}

// IssueCheckInToken signs a short-lived token for the room's QR code. It
// changes nothing, so it writes no event or audit record.
func (a *api) IssueCheckInToken(ctx context.Context, req *meetingsv1.IssueCheckInTokenRequest) (*meetingsv1.IssueCheckInTokenResponse, error) {
	c, err := a.caller(ctx)
	if err != nil {
		return nil, err
	}
	id, err := meetingID(req.GetMeetingId())
	if err != nil {
		return nil, err
	}
	row, acc, err := peek(ctx, a.s.d.Pool, c, id)
	if err != nil {
		return nil, a.s.rpcError(ctx, "IssueCheckInToken", err)
	}
	if !acc.run {
		return nil, permissionDenied()
	}
	if err := domain.Allowed(row.m.GetState(), domain.IssueCheckIn); err != nil {
		return nil, illegal(err)
	}
	secret, err := a.s.checkInSecret(ctx)
	if err != nil {
		return nil, a.s.rpcError(ctx, "IssueCheckInToken", err)
	}
	// Whole seconds: the token carries Unix seconds.
	expires := time.Now().Add(domain.CheckInTokenTTL).Truncate(time.Second)
	token, err := domain.SignCheckIn(secret, id, expires)
	if err != nil {
		return nil, status.Errorf(codes.Internal, "%s: sign check-in token: %v", Name, err)
	}
	return &meetingsv1.IssueCheckInTokenResponse{
		Token:       token,
		ExpireTime:  timestamppb.New(expires),
		CheckInPath: domain.CheckInPath(id, token),
	}, nil
}

// CheckIn marks the caller present by the token they scanned. A bad token
// is InvalidArgument on field token, with reason TOKEN_INVALID (forged or
// altered), TOKEN_OTHER_MEETING or TOKEN_EXPIRED, so the app can tell the
// person what to do (scan the code currently shown in this room).
func (a *api) CheckIn(ctx context.Context, req *meetingsv1.CheckInRequest) (*meetingsv1.CheckInResponse, error) {
	c, err := a.caller(ctx)
	if err != nil {
		return nil, err
	}
	id, err := meetingID(req.GetMeetingId())
	if err != nil {
		return nil, err
	}
	// Read before the transaction: it may have to create the key.
	secret, err := a.s.checkInSecret(ctx)
	if err != nil {
		return nil, a.s.rpcError(ctx, "CheckIn", err)
	}
	now := time.Now()
	m, err := a.s.change(ctx, c, "CheckIn", id, needParticipant, func(ctx context.Context, st *txState) (edit, error) {
		if req.GetToken() == "" {
			return edit{}, invalid([]domain.Violation{{Field: "token", Reason: domain.ReasonRequired, Description: "must be the token from the meeting's QR code"}})
		}
		if err := domain.VerifyCheckIn(secret, req.GetToken(), id, now); err != nil {
			return edit{}, invalid([]domain.Violation{{Field: "token", Reason: tokenReason(err), Description: err.Error()}})
		}
		if err := domain.CheckInAllowed(st.row.m.GetState(), st.row.m.GetStartsAt().AsTime(), now); err != nil {
			return edit{}, illegal(err)
		}
		tag, err := st.tx.Exec(ctx, `
			UPDATE participants SET attendance = 'ATTENDANCE_PRESENT', check_in_time = $3, absence_reason = ''
			WHERE meeting_id = $1 AND person_id = $2 AND attendance <> 'ATTENDANCE_PRESENT'`, id, c.Subject, now)
		if err != nil {
			return edit{}, fmt.Errorf("check in: %w", err)
		}
		if tag.RowsAffected() == 0 {
			return edit{noop: true}, nil // already checked in
		}
		return attendanceChanged(c.Subject, meetingsv1.Attendance_ATTENDANCE_PRESENT, "attendance.checked_in", ""), nil
	})
	if err != nil {
		return nil, err
	}
	return &meetingsv1.CheckInResponse{Meeting: m}, nil
}

func tokenReason(err error) string {
	switch {
	case errors.Is(err, domain.ErrTokenExpired):
		return domain.ReasonTokenExpired
	case errors.Is(err, domain.ErrTokenOtherMeeting):
		return domain.ReasonTokenWrongMeet
	default:
		return domain.ReasonTokenInvalid
	}
}

// MarkAttendance is the minute-taker recording someone present, present
// online, absent with an excuse (and its reason) or not present.
func (a *api) MarkAttendance(ctx context.Context, req *meetingsv1.MarkAttendanceRequest) (*meetingsv1.MarkAttendanceResponse, error) {
	c, err := a.caller(ctx)
	if err != nil {
		return nil, err
	}
	id, err := meetingID(req.GetMeetingId())
	if err != nil {
		return nil, err
	}
	personID, vs := domain.ParseID("person_id", req.GetPersonId())
	reason, av := domain.ValidateAttendance(req.GetAttendance(), req.GetAbsenceReason())
	vs = append(vs, av...)
	att := req.GetAttendance()
	now := time.Now()
	m, err := a.s.change(ctx, c, "MarkAttendance", id, needRun, func(ctx context.Context, st *txState) (edit, error) {
		if len(vs) > 0 {
			return edit{}, invalid(vs)
		}
		if _, ok, err := participantRole(ctx, st.tx, id, personID); err != nil {
			return edit{}, err
		} else if !ok {
			return edit{}, invalid([]domain.Violation{{Field: "person_id", Reason: domain.ReasonNotParticipant,
				Description: "does not take part in the meeting"}})
		}
		if err := domain.Allowed(st.row.m.GetState(), domain.MarkAttendance); err != nil {
			return edit{}, illegal(err)
		}
		// Present keeps the first check-in time; any absence clears it. The
		// absence reason is set for an excused absence, cleared when present
		// and otherwise kept (it may be the invitation answer's).
		tag, err := st.tx.Exec(ctx, `
			UPDATE participants SET
				attendance     = $3,
				check_in_time  = CASE WHEN $5 THEN coalesce(check_in_time, $6) END,
				absence_reason = CASE WHEN $3 = 'ATTENDANCE_ABSENT_EXCUSED' THEN $4
				                      WHEN $5 THEN '' ELSE absence_reason END
			WHERE meeting_id = $1 AND person_id = $2
			  AND (attendance <> $3 OR ($3 = 'ATTENDANCE_ABSENT_EXCUSED' AND absence_reason <> $4))`,
			id, personID, att.String(), reason, domain.Present(att), now)
		if err != nil {
			return edit{}, fmt.Errorf("mark attendance: %w", err)
		}
		if tag.RowsAffected() == 0 {
			return edit{noop: true}, nil
		}
		return attendanceChanged(personID, att, "attendance.marked", reason), nil
	})
	if err != nil {
		return nil, err
	}
	return &meetingsv1.MarkAttendanceResponse{Meeting: m}, nil
}
