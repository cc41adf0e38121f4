package documents

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	documentsv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/documents/v1"
	meetingsv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/meetings/v1"
	"github.com/ecabinet/ecabinet/services/platform/outbox"
	"github.com/ecabinet/ecabinet/services/platform/rpcerr"
)

func (a *api) SetPresenterPage(ctx context.Context, req *documentsv1.SetPresenterPageRequest) (*documentsv1.SetPresenterPageResponse, error) {
	c, err := a.start(ctx)
	if err != nil {
		return nil, err
	}
	id, vs := parseID("document_id", req.GetDocumentId())
	if req.GetPage() < 1 {
		vs = append(vs, rpcerr.Violation{Field: "page", Reason: "OUT_OF_RANGE", Description: "pages count from 1"})
	}
	if len(vs) > 0 {
		return nil, rpcerr.Invalid(Name, vs)
	}
	d, err := a.s.readable(ctx, c, id)
	if err != nil {
		return nil, err
	}
	if d.GetPageCount() > 0 && req.GetPage() > d.GetPageCount() {
		return nil, rpcerr.Invalid(Name, []rpcerr.Violation{{Field: "page", Reason: "OUT_OF_RANGE",
			Description: fmt.Sprintf("the document has %d pages", d.GetPageCount())}})
	}
	if d.GetMeetingId() == "" {
		return nil, status.Errorf(codes.FailedPrecondition, "%s: a library document is not presented in a meeting", Name)
	}
	m, err := a.s.meeting(ctx, d.GetMeetingId())
	if errors.Is(err, errMeetingHidden) {
		return nil, notFound(id)
	}
	if err != nil {
		return nil, err
	}
	if !runs(m) && !presents(m, d.GetAgendaItemId(), c.Subject) {
		return nil, status.Errorf(codes.PermissionDenied,
			"%s: only the meeting's chair, its minute-taker or the presenter of the paper's agenda item may present it", Name)
	}
	p := &documentsv1.PresenterPage{MeetingId: d.GetMeetingId(), DocumentId: id, Page: req.GetPage(), PresenterId: c.Subject}
	err = pgx.BeginFunc(ctx, a.s.d.Pool, func(tx pgx.Tx) error {
		var updated time.Time
		if err := tx.QueryRow(ctx, `
			INSERT INTO presenter_pages (meeting_id, document_id, page, presenter_id) VALUES ($1, $2, $3, $4)
			ON CONFLICT (meeting_id) DO UPDATE SET document_id = EXCLUDED.document_id, page = EXCLUDED.page,
				presenter_id = EXCLUDED.presenter_id, update_time = now()
			RETURNING update_time`, p.GetMeetingId(), id, p.GetPage(), c.Subject).Scan(&updated); err != nil {
			return err
		}
		p.UpdateTime = timestamppb.New(updated)
		meta := outbox.NewMeta(c.Subject, id, d.GetOrganizationId(), 0)
		meta.Audience = audience(m)
		return outbox.Enqueue(ctx, tx, eventSubject(p.GetMeetingId(), "presenter_page"), &documentsv1.PresenterPageTurned{Meta: meta, PresenterPage: p})
	})
	if err != nil {
		return nil, rpcerr.FromStore(ctx, a.s.log, Name, "SetPresenterPage", err)
	}
	return &documentsv1.SetPresenterPageResponse{PresenterPage: p}, nil
}

func (a *api) GetPresenterPage(ctx context.Context, req *documentsv1.GetPresenterPageRequest) (*documentsv1.GetPresenterPageResponse, error) {
	c, err := a.start(ctx)
	if err != nil {
		return nil, err
	}
	meetingID, vs := parseID("meeting_id", req.GetMeetingId())
	if len(vs) > 0 {
		return nil, rpcerr.Invalid(Name, vs)
	}
	p := &documentsv1.PresenterPage{MeetingId: meetingID}
	var updated time.Time
	err = a.s.d.Pool.QueryRow(ctx, `SELECT document_id, page, presenter_id, update_time FROM presenter_pages WHERE meeting_id = $1`, meetingID).
		Scan(&p.DocumentId, &p.Page, &p.PresenterId, &updated)
	nothing := status.Errorf(codes.NotFound, "%s: nothing is being presented in meeting %s", Name, meetingID)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nothing
	}
	if err != nil {
		return nil, rpcerr.FromStore(ctx, a.s.log, Name, "GetPresenterPage", err)
	}
	// Only a reader of the paper learns which paper it is.
	if _, err := a.s.readable(ctx, c, p.GetDocumentId()); status.Code(err) == codes.NotFound {
		return nil, nothing
	} else if err != nil {
		return nil, err
	}
	p.UpdateTime = timestamppb.New(updated)
	return &documentsv1.GetPresenterPageResponse{PresenterPage: p}, nil
}

// presents reports whether person presents the agenda item.
func presents(m *meetingsv1.Meeting, itemID, person string) bool {
	for _, it := range m.GetAgenda() {
		if it.GetId() == itemID && itemID != "" {
			return it.GetPresenterId() == person
		}
	}
	return false
}
