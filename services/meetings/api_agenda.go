package meetings

import (
	"context"
	"errors"
	"fmt"
	"slices"

	meetingsv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/meetings/v1"
	platformv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/platform/v1"
	"github.com/ecabinet/ecabinet/services/meetings/domain"
	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// Agenda positions are 1..n without gaps: every agenda change holds the
// meeting's row lock (change), so concurrent inserts queue up instead of
// computing the same position, and the (meeting, position) constraint
// would refuse a collision anyway.

func agendaChanged(action, detail string) edit {
	return edit{
		event: "agenda_changed",
		build: func(meta *platformv1.EventMeta, m *meetingsv1.Meeting) proto.Message {
			return &meetingsv1.AgendaChanged{Meta: meta, Meeting: m}
		},
		action: action,
		detail: detail,
	}
}

func (a *api) AddAgendaItem(ctx context.Context, req *meetingsv1.AddAgendaItemRequest) (*meetingsv1.AddAgendaItemResponse, error) {
	c, err := a.caller(ctx)
	if err != nil {
		return nil, err
	}
	id, err := meetingID(req.GetMeetingId())
	if err != nil {
		return nil, err
	}
	it, vs := domain.ValidateAgendaItem(req.GetTitle(), req.GetPresenterId(), req.GetDurationMinutes(), req.GetDocumentIds())
	m, err := a.s.change(ctx, c, "AddAgendaItem", id, needRun, func(ctx context.Context, st *txState) (edit, error) {
		var n int
		if err := st.tx.QueryRow(ctx, `SELECT count(*) FROM agenda_items WHERE meeting_id = $1`, id).Scan(&n); err != nil {
			return edit{}, fmt.Errorf("count agenda: %w", err)
		}
		pos, pv := domain.InsertPosition(req.GetPosition(), n)
		if vs := append(slices.Clone(vs), pv...); len(vs) > 0 {
			return edit{}, invalid(vs)
		}
		if err := domain.Allowed(st.row.m.GetState(), domain.EditAgenda); err != nil {
			return edit{}, illegal(err)
		}
		if n >= domain.MaxAgendaItems {
			return edit{}, status.Errorf(codes.FailedPrecondition, "%s: the agenda already has %d items, the most a meeting may have", Name, n)
		}
		if err := checkPresenter(ctx, st.tx, id, it.PresenterID); err != nil {
			return edit{}, err
		}
		itemID := uuid.Must(uuid.NewV7()).String()
		if _, err := st.tx.Exec(ctx, `UPDATE agenda_items SET position = position + 1 WHERE meeting_id = $1 AND position >= $2`, id, pos); err != nil {
			return edit{}, fmt.Errorf("make room in the agenda: %w", err)
		}
		if _, err := st.tx.Exec(ctx, `
			INSERT INTO agenda_items (id, meeting_id, position, title, presenter_id, duration_minutes, document_ids)
			VALUES ($1, $2, $3, $4, $5, $6, $7::uuid[])`,
			itemID, id, pos, it.Title, optString(it.PresenterID), it.Minutes, it.DocumentIDs); err != nil {
			return edit{}, fmt.Errorf("insert agenda item: %w", err)
		}
		return agendaChanged("agenda.item_added", fmt.Sprintf("item %s at position %d: %s", itemID, pos, it.Title)), nil
	})
	if err != nil {
		return nil, err
	}
	return &meetingsv1.AddAgendaItemResponse{Meeting: m}, nil
}

// checkPresenter: a presenter, if named, must take part in the meeting.
func checkPresenter(ctx context.Context, q querier, meetingID, personID string) error {
	if personID == "" {
		return nil
	}
	_, ok, err := participantRole(ctx, q, meetingID, personID)
	if err != nil {
		return err
	}
	if !ok {
		return invalid([]domain.Violation{{Field: "presenter_id", Reason: domain.ReasonNotParticipant,
			Description: "must be a participant of the meeting; add them first"}})
	}
	return nil
}

func optString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// agendaItem finds an item of the meeting: its position, or NotFound
// (also for an item of another meeting).
func agendaItem(ctx context.Context, q querier, meetingID, itemID string) (int, error) {
	var pos int
	err := q.QueryRow(ctx, `SELECT position FROM agenda_items WHERE id = $1 AND meeting_id = $2`, itemID, meetingID).Scan(&pos)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, status.Errorf(codes.NotFound, "%s: agenda item %s not found in meeting %s", Name, itemID, meetingID)
	}
	if err != nil {
		return 0, fmt.Errorf("read agenda item: %w", err)
	}
	return pos, nil
}

func (a *api) UpdateAgendaItem(ctx context.Context, req *meetingsv1.UpdateAgendaItemRequest) (*meetingsv1.UpdateAgendaItemResponse, error) {
	c, err := a.caller(ctx)
	if err != nil {
		return nil, err
	}
	id, err := meetingID(req.GetMeetingId())
	if err != nil {
		return nil, err
	}
	itemID, vs := domain.ParseID("agenda_item_id", req.GetAgendaItemId())
	it, fv := domain.ValidateAgendaItem(req.GetTitle(), req.GetPresenterId(), req.GetDurationMinutes(), req.GetDocumentIds())
	vs = append(vs, fv...)
	m, err := a.s.change(ctx, c, "UpdateAgendaItem", id, needRun, func(ctx context.Context, st *txState) (edit, error) {
		if len(vs) > 0 {
			return edit{}, invalid(vs)
		}
		if _, err := agendaItem(ctx, st.tx, id, itemID); err != nil {
			return edit{}, err
		}
		if err := domain.Allowed(st.row.m.GetState(), domain.EditAgenda); err != nil {
			return edit{}, illegal(err)
		}
		if err := checkPresenter(ctx, st.tx, id, it.PresenterID); err != nil {
			return edit{}, err
		}
		if _, err := st.tx.Exec(ctx, `
			UPDATE agenda_items SET title = $2, presenter_id = $3, duration_minutes = $4, document_ids = $5::uuid[]
			WHERE id = $1`, itemID, it.Title, optString(it.PresenterID), it.Minutes, it.DocumentIDs); err != nil {
			return edit{}, fmt.Errorf("update agenda item: %w", err)
		}
		return agendaChanged("agenda.item_updated", fmt.Sprintf("item %s: %s", itemID, it.Title)), nil
	})
	if err != nil {
		return nil, err
	}
	return &meetingsv1.UpdateAgendaItemResponse{Meeting: m}, nil
}

func (a *api) RemoveAgendaItem(ctx context.Context, req *meetingsv1.RemoveAgendaItemRequest) (*meetingsv1.RemoveAgendaItemResponse, error) {
	c, err := a.caller(ctx)
	if err != nil {
		return nil, err
	}
	id, err := meetingID(req.GetMeetingId())
	if err != nil {
		return nil, err
	}
	itemID, vs := domain.ParseID("agenda_item_id", req.GetAgendaItemId())
	m, err := a.s.change(ctx, c, "RemoveAgendaItem", id, needRun, func(ctx context.Context, st *txState) (edit, error) {
		if len(vs) > 0 {
			return edit{}, invalid(vs)
		}
		pos, err := agendaItem(ctx, st.tx, id, itemID)
		if err != nil {
			return edit{}, err
		}
		if err := domain.Allowed(st.row.m.GetState(), domain.EditAgenda); err != nil {
			return edit{}, illegal(err)
		}
		// Removing the item being discussed leaves no current item; the
		// chair moves on explicitly.
		if _, err := st.tx.Exec(ctx, `
			UPDATE meetings SET current_agenda_item_id = NULL WHERE id = $1 AND current_agenda_item_id = $2`, id, itemID); err != nil {
			return edit{}, fmt.Errorf("clear current item: %w", err)
		}
		if _, err := st.tx.Exec(ctx, `DELETE FROM agenda_items WHERE id = $1`, itemID); err != nil {
			return edit{}, fmt.Errorf("delete agenda item: %w", err)
		}
		if _, err := st.tx.Exec(ctx, `UPDATE agenda_items SET position = position - 1 WHERE meeting_id = $1 AND position > $2`, id, pos); err != nil {
			return edit{}, fmt.Errorf("close the gap in the agenda: %w", err)
		}
		if err := keepReady(ctx, st, id); err != nil {
			return edit{}, err
		}
		return agendaChanged("agenda.item_removed", fmt.Sprintf("item %s from position %d", itemID, pos)), nil
	})
	if err != nil {
		return nil, err
	}
	return &meetingsv1.RemoveAgendaItemResponse{Meeting: m}, nil
}

func (a *api) ReorderAgenda(ctx context.Context, req *meetingsv1.ReorderAgendaRequest) (*meetingsv1.ReorderAgendaResponse, error) {
	c, err := a.caller(ctx)
	if err != nil {
		return nil, err
	}
	id, err := meetingID(req.GetMeetingId())
	if err != nil {
		return nil, err
	}
	m, err := a.s.change(ctx, c, "ReorderAgenda", id, needRun, func(ctx context.Context, st *txState) (edit, error) {
		rows, err := st.tx.Query(ctx, `SELECT id::text FROM agenda_items WHERE meeting_id = $1 ORDER BY position`, id)
		if err != nil {
			return edit{}, fmt.Errorf("read agenda: %w", err)
		}
		current, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return edit{}, fmt.Errorf("read agenda: %w", err)
		}
		order, vs := domain.CheckReorder(current, req.GetAgendaItemIds())
		if len(vs) > 0 {
			return edit{}, invalid(vs)
		}
		if err := domain.Allowed(st.row.m.GetState(), domain.EditAgenda); err != nil {
			return edit{}, illegal(err)
		}
		if slices.Equal(order, current) {
			return edit{noop: true}, nil
		}
		if _, err := st.tx.Exec(ctx, `
			UPDATE agenda_items a SET position = v.pos
			FROM unnest($2::uuid[]) WITH ORDINALITY AS v(id, pos)
			WHERE a.meeting_id = $1 AND a.id = v.id`, id, order); err != nil {
			return edit{}, fmt.Errorf("reorder agenda: %w", err)
		}
		return agendaChanged("agenda.reordered", fmt.Sprintf("%d items", len(order))), nil
	})
	if err != nil {
		return nil, err
	}
	return &meetingsv1.ReorderAgendaResponse{Meeting: m}, nil
}

// SetCurrentAgendaItem moves a meeting in progress to one of its items;
// tablets follow through the agenda_advanced event.
func (a *api) SetCurrentAgendaItem(ctx context.Context, req *meetingsv1.SetCurrentAgendaItemRequest) (*meetingsv1.SetCurrentAgendaItemResponse, error) {
	c, err := a.caller(ctx)
	if err != nil {
		return nil, err
	}
	id, err := meetingID(req.GetMeetingId())
	if err != nil {
		return nil, err
	}
	itemID, vs := domain.ParseID("agenda_item_id", req.GetAgendaItemId())
	m, err := a.s.change(ctx, c, "SetCurrentAgendaItem", id, needRun, func(ctx context.Context, st *txState) (edit, error) {
		if len(vs) > 0 {
			return edit{}, invalid(vs)
		}
		var pos int
		var title string
		err := st.tx.QueryRow(ctx, `SELECT position, title FROM agenda_items WHERE id = $1 AND meeting_id = $2`, itemID, id).Scan(&pos, &title)
		if errors.Is(err, pgx.ErrNoRows) {
			return edit{}, invalid([]domain.Violation{{Field: "agenda_item_id", Reason: domain.ReasonNotFound,
				Description: "is not an item of this meeting's agenda"}})
		}
		if err != nil {
			return edit{}, fmt.Errorf("read agenda item: %w", err)
		}
		if err := domain.Allowed(st.row.m.GetState(), domain.AdvanceAgenda); err != nil {
			return edit{}, illegal(err)
		}
		if st.row.m.GetCurrentAgendaItemId() == itemID {
			return edit{noop: true}, nil
		}
		if _, err := st.tx.Exec(ctx, `UPDATE meetings SET current_agenda_item_id = $2 WHERE id = $1`, id, itemID); err != nil {
			return edit{}, fmt.Errorf("set current item: %w", err)
		}
		return edit{
			event: "agenda_advanced",
			build: func(meta *platformv1.EventMeta, m *meetingsv1.Meeting) proto.Message {
				return &meetingsv1.AgendaAdvanced{Meta: meta, Meeting: m, CurrentAgendaItemId: itemID}
			},
			action: "agenda.advanced",
			detail: fmt.Sprintf("item %d: %s", pos, title),
		}, nil
	})
	if err != nil {
		return nil, err
	}
	return &meetingsv1.SetCurrentAgendaItemResponse{Meeting: m}, nil
}
