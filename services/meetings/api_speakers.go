package meetings

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"unicode/utf8"

	meetingsv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/meetings/v1"
	platformv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/platform/v1"
	"github.com/ecabinet/ecabinet/services/meetings/domain"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// The speakers list. Waiting requests hold positions 1..n without gaps;
// every change holds the meeting's row lock (change), so positions are
// rewritten as a whole (setQueue) instead of shifted in place.

// maxSpeakerNote bounds the note a participant adds to their request: a
// hint for the chair ("về mục 2"), not a speech.
const maxSpeakerNote = 200

const (
	speakerWaiting   = meetingsv1.SpeakerState_SPEAKER_STATE_WAITING
	speakerSpeaking  = meetingsv1.SpeakerState_SPEAKER_STATE_SPEAKING
	speakerDone      = meetingsv1.SpeakerState_SPEAKER_STATE_DONE
	speakerWithdrawn = meetingsv1.SpeakerState_SPEAKER_STATE_WITHDRAWN
)

func speakersChanged(action, detail string) edit {
	return edit{
		event: "speakers_changed",
		build: func(meta *platformv1.EventMeta, m *meetingsv1.Meeting) proto.Message {
			return &meetingsv1.SpeakersChanged{Meta: meta, Meeting: m}
		},
		action: action,
		detail: detail,
	}
}

// inProgress: the speakers list is only kept while the meeting sits.
func inProgress(st *txState) error {
	if s := st.row.m.GetState(); s != domain.StateInProgress {
		return status.Errorf(codes.FailedPrecondition,
			"%s: the speakers list is only open while the meeting is in progress; it is %s", Name, s)
	}
	return nil
}

// waitingQueue returns the ids of the waiting requests in queue order.
func waitingQueue(ctx context.Context, tx pgx.Tx, meetingID string) ([]string, error) {
	rows, err := tx.Query(ctx, `
		SELECT id::text FROM speakers WHERE meeting_id = $1 AND state = 'SPEAKER_STATE_WAITING'
		ORDER BY position, request_time, id`, meetingID)
	if err != nil {
		return nil, fmt.Errorf("read speakers queue: %w", err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("read speakers queue: %w", err)
	}
	return ids, nil
}

// setQueue numbers the waiting requests 1..n in the order of ids.
func setQueue(ctx context.Context, tx pgx.Tx, meetingID string, ids []string) error {
	if _, err := tx.Exec(ctx, `
		UPDATE speakers s SET position = v.pos
		FROM unnest($2::uuid[]) WITH ORDINALITY AS v(id, pos)
		WHERE s.meeting_id = $1 AND s.id = v.id`, meetingID, ids); err != nil {
		return fmt.Errorf("renumber speakers queue: %w", err)
	}
	return nil
}

// leaveQueue sets a request's new state, takes it out of the queue and
// closes the gap it leaves.
func leaveQueue(ctx context.Context, tx pgx.Tx, meetingID, speakerID string, to meetingsv1.SpeakerState) error {
	if _, err := tx.Exec(ctx, `UPDATE speakers SET state = $2, position = 0 WHERE id = $1`, speakerID, to.String()); err != nil {
		return fmt.Errorf("update speaker: %w", err)
	}
	q, err := waitingQueue(ctx, tx, meetingID)
	if err != nil {
		return err
	}
	return setQueue(ctx, tx, meetingID, q)
}

func (a *api) RequestToSpeak(ctx context.Context, req *meetingsv1.RequestToSpeakRequest) (*meetingsv1.RequestToSpeakResponse, error) {
	c, err := a.caller(ctx)
	if err != nil {
		return nil, err
	}
	id, err := meetingID(req.GetMeetingId())
	if err != nil {
		return nil, err
	}
	note, vs := domain.ValidateReason("note", req.GetNote(), false)
	if utf8.RuneCountInString(note) > maxSpeakerNote {
		vs = append(vs, domain.Violation{Field: "note", Reason: domain.ReasonTooLong,
			Description: fmt.Sprintf("must be at most %d characters", maxSpeakerNote)})
	}
	var itemID string
	if req.GetAgendaItemId() != "" {
		var iv []domain.Violation
		itemID, iv = domain.ParseID("agenda_item_id", req.GetAgendaItemId())
		vs = append(vs, iv...)
	}
	m, err := a.s.change(ctx, c, "RequestToSpeak", id, needParticipant, func(ctx context.Context, st *txState) (edit, error) {
		if len(vs) > 0 {
			return edit{}, invalid(vs)
		}
		if itemID != "" {
			if _, err := agendaItem(ctx, st.tx, id, itemID); status.Code(err) == codes.NotFound {
				return edit{}, invalid([]domain.Violation{{Field: "agenda_item_id", Reason: domain.ReasonNotFound,
					Description: "is not an item of this meeting's agenda"}})
			} else if err != nil {
				return edit{}, err
			}
		}
		if err := inProgress(st); err != nil {
			return edit{}, err
		}
		var open bool
		if err := st.tx.QueryRow(ctx, `
			SELECT EXISTS (SELECT 1 FROM speakers WHERE meeting_id = $1 AND person_id = $2
			               AND state IN ('SPEAKER_STATE_WAITING', 'SPEAKER_STATE_SPEAKING'))`,
			id, c.Subject).Scan(&open); err != nil {
			return edit{}, fmt.Errorf("read open request: %w", err)
		}
		if open {
			return edit{}, status.Errorf(codes.AlreadyExists, "%s: you have already asked to speak in this meeting; withdraw that request first", Name)
		}
		var name string
		if err := st.tx.QueryRow(ctx, `SELECT full_name FROM participants WHERE meeting_id = $1 AND person_id = $2`,
			id, c.Subject).Scan(&name); err != nil {
			return edit{}, fmt.Errorf("read participant: %w", err)
		}
		speakerID := uuid.Must(uuid.NewV7()).String()
		if _, err := st.tx.Exec(ctx, `
			INSERT INTO speakers (id, meeting_id, person_id, full_name, agenda_item_id, note, state, position)
			VALUES ($1, $2, $3, $4, $5, $6, 'SPEAKER_STATE_WAITING',
			        (SELECT count(*) + 1 FROM speakers WHERE meeting_id = $2 AND state = 'SPEAKER_STATE_WAITING'))`,
			speakerID, id, c.Subject, name, optString(itemID), note); err != nil {
			return edit{}, fmt.Errorf("insert speaker: %w", err)
		}
		return speakersChanged("speakers.requested", fmt.Sprintf("speaker %s: %s", speakerID, name)), nil
	})
	if err != nil {
		return nil, err
	}
	return &meetingsv1.RequestToSpeakResponse{Meeting: m}, nil
}

func (a *api) WithdrawSpeakRequest(ctx context.Context, req *meetingsv1.WithdrawSpeakRequestRequest) (*meetingsv1.WithdrawSpeakRequestResponse, error) {
	c, err := a.caller(ctx)
	if err != nil {
		return nil, err
	}
	id, err := meetingID(req.GetMeetingId())
	if err != nil {
		return nil, err
	}
	m, err := a.s.change(ctx, c, "WithdrawSpeakRequest", id, needParticipant, func(ctx context.Context, st *txState) (edit, error) {
		if err := inProgress(st); err != nil {
			return edit{}, err
		}
		var speakerID string
		err := st.tx.QueryRow(ctx, `
			SELECT id::text FROM speakers WHERE meeting_id = $1 AND person_id = $2 AND state = 'SPEAKER_STATE_WAITING'`,
			id, c.Subject).Scan(&speakerID)
		if errors.Is(err, pgx.ErrNoRows) {
			// Not NotFound: the meeting exists and the caller may see it;
			// there is just nothing of theirs waiting (a turn already given
			// is ended by the chair).
			return edit{}, status.Errorf(codes.FailedPrecondition, "%s: you have no request to speak waiting in this meeting", Name)
		}
		if err != nil {
			return edit{}, fmt.Errorf("read own request: %w", err)
		}
		if err := leaveQueue(ctx, st.tx, id, speakerID, speakerWithdrawn); err != nil {
			return edit{}, err
		}
		return speakersChanged("speakers.withdrawn", "speaker "+speakerID), nil
	})
	if err != nil {
		return nil, err
	}
	return &meetingsv1.WithdrawSpeakRequestResponse{Meeting: m}, nil
}

func (a *api) UpdateSpeaker(ctx context.Context, req *meetingsv1.UpdateSpeakerRequest) (*meetingsv1.UpdateSpeakerResponse, error) {
	c, err := a.caller(ctx)
	if err != nil {
		return nil, err
	}
	id, err := meetingID(req.GetMeetingId())
	if err != nil {
		return nil, err
	}
	speakerID, vs := domain.ParseID("speaker_id", req.GetSpeakerId())
	to, pos := req.GetState(), int(req.GetPosition())
	move := to == meetingsv1.SpeakerState_SPEAKER_STATE_UNSPECIFIED || to == speakerWaiting
	switch {
	case to != speakerSpeaking && to != speakerDone && !move:
		vs = append(vs, domain.Violation{Field: "state", Reason: domain.ReasonUnknownValue,
			Description: "must be SPEAKER_STATE_SPEAKING or SPEAKER_STATE_DONE, or unset to move a waiting request"})
	case move && pos < 1:
		vs = append(vs, domain.Violation{Field: "position", Reason: domain.ReasonRequired,
			Description: "must be 1 or more to move a waiting request"})
	case !move && pos != 0:
		vs = append(vs, domain.Violation{Field: "position", Reason: domain.ReasonOutOfRange,
			Description: "must be unset when the state changes"})
	}
	m, err := a.s.change(ctx, c, "UpdateSpeaker", id, needRun, func(ctx context.Context, st *txState) (edit, error) {
		if len(vs) > 0 {
			return edit{}, invalid(vs)
		}
		var stateName, name string
		err := st.tx.QueryRow(ctx, `SELECT state, full_name FROM speakers WHERE id = $1 AND meeting_id = $2`,
			speakerID, id).Scan(&stateName, &name)
		if errors.Is(err, pgx.ErrNoRows) {
			return edit{}, status.Errorf(codes.NotFound, "%s: speaker %s not found in meeting %s", Name, speakerID, id)
		}
		if err != nil {
			return edit{}, fmt.Errorf("read speaker: %w", err)
		}
		if err := inProgress(st); err != nil {
			return edit{}, err
		}
		from := meetingsv1.SpeakerState(meetingsv1.SpeakerState_value[stateName])
		switch {
		case !move && from == to:
			return edit{noop: true}, nil
		case move && from != speakerWaiting, to == speakerSpeaking && from != speakerWaiting,
			to == speakerDone && from != speakerWaiting && from != speakerSpeaking:
			return edit{}, status.Errorf(codes.FailedPrecondition, "%s: %s's request is %s; it cannot become %s",
				Name, name, from, to)
		}

		if move {
			q, err := waitingQueue(ctx, st.tx, id)
			if err != nil {
				return edit{}, err
			}
			if pos > len(q) {
				return edit{}, invalid([]domain.Violation{{Field: "position", Reason: domain.ReasonOutOfRange,
					Description: fmt.Sprintf("must be between 1 and %d, the number of waiting requests", len(q))}})
			}
			at := slices.Index(q, speakerID)
			if at == pos-1 {
				return edit{noop: true}, nil
			}
			q = slices.Insert(slices.Delete(q, at, at+1), pos-1, speakerID)
			if err := setQueue(ctx, st.tx, id, q); err != nil {
				return edit{}, err
			}
			return speakersChanged("speakers.moved", fmt.Sprintf("speaker %s (%s) to position %d", speakerID, name, pos)), nil
		}

		detail := fmt.Sprintf("speaker %s: %s", speakerID, name)
		if to == speakerSpeaking {
			// One person has the floor: whoever had it is done.
			if _, err := st.tx.Exec(ctx, `
				UPDATE speakers SET state = 'SPEAKER_STATE_DONE' WHERE meeting_id = $1 AND state = 'SPEAKER_STATE_SPEAKING'`,
				id); err != nil {
				return edit{}, fmt.Errorf("end the current turn: %w", err)
			}
			if err := leaveQueue(ctx, st.tx, id, speakerID, speakerSpeaking); err != nil {
				return edit{}, err
			}
			return speakersChanged("speakers.speaking", detail), nil
		}
		if err := leaveQueue(ctx, st.tx, id, speakerID, speakerDone); err != nil {
			return edit{}, err
		}
		return speakersChanged("speakers.done", detail), nil
	})
	if err != nil {
		return nil, err
	}
	return &meetingsv1.UpdateSpeakerResponse{Meeting: m}, nil
}
