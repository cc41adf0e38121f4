package minutes

import (
	"context"
	"errors"
	"fmt"
	"time"

	meetingsv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/meetings/v1"
	"github.com/ecabinet/ecabinet/services/platform/audit"
	"github.com/ecabinet/ecabinet/services/platform/identity"
	"github.com/ecabinet/ecabinet/services/platform/outbox"
	"github.com/ecabinet/ecabinet/services/platform/rpcerr"
	"github.com/jackc/pgx/v5"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
)

// Audit actions; their names are part of the audit trail, so they must not
// change once written.
const (
	actionSaved        = "minutes_saved"
	actionSubmitted    = "minutes_submitted"
	actionReturned     = "minutes_returned"
	actionApproved     = "minutes_approved"
	actionAmended      = "minutes_amended"
	actionVoteRecorded = "minutes_vote_recorded"
)

// Every handler checks, in order: identity, readiness, that the caller may
// see the meeting (else NotFound: no existence leak), that their role allows
// the call (else PermissionDenied), the request's fields (InvalidArgument),
// then, under the meeting's minutes lock, the states (FailedPrecondition)
// and the version the change is based on (Aborted).

// view is a meeting as the caller sees it.
type view struct {
	id     string
	m      *meetingsv1.Meeting
	org    *meetingsv1.Organization
	parent *meetingsv1.Organization // nil for a top-level organisation
	acc    access
}

// caller returns the signed-in person behind the request.
func (s *Service) caller(ctx context.Context) (identity.Claims, error) {
	c, err := rpcerr.Caller(ctx, service)
	if err != nil {
		return c, err
	}
	if c.HasRole(identity.RoleGateway) {
		return c, status.Errorf(codes.PermissionDenied, "%s: the gateway's own identity may only sign people in, not act for them", service)
	}
	return c, rpcerr.CheckReady(service, s.ready())
}

// load returns the meeting if the caller may see it.
func (s *Service) load(ctx context.Context, c identity.Claims, rawID string) (*view, error) {
	id, vs := parseID("meeting_id", rawID)
	if len(vs) > 0 {
		return nil, rpcerr.Invalid(service, vs)
	}
	notFound := status.Errorf(codes.NotFound, "%s: meeting %s not found", service, id)
	m, org, err := s.d.Meetings.Meeting(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return nil, notFound
	}
	if err != nil {
		return nil, s.fail(ctx, "read meeting", err)
	}
	v := &view{id: id, m: m, org: org, acc: accessOf(c, m)}
	if !v.acc.read {
		return nil, notFound
	}
	if pid := org.GetParentId(); pid != "" {
		v.parent, err = s.d.Meetings.Organization(ctx, pid)
		if err != nil && !errors.Is(err, ErrNotFound) {
			return nil, s.fail(ctx, "read organisation", err)
		}
	}
	return v, nil
}

// fail turns an error into the status the client gets.
func (s *Service) fail(ctx context.Context, op string, err error) error {
	var rf *refusal
	if errors.As(err, &rf) {
		return status.Error(codes.FailedPrecondition, service+": "+rf.msg)
	}
	var sv *staleVersion
	if errors.As(err, &sv) {
		return status.Error(codes.Aborted, service+": "+sv.Error())
	}
	// A status from the meeting side (Close refusing, say) is already
	// meant for the client: pass it on as it was made, without the
	// wrapping's prefixes.
	var se interface{ GRPCStatus() *status.Status }
	if errors.As(err, &se) && se.GRPCStatus().Code() != codes.Unknown {
		return se.GRPCStatus().Err()
	}
	return rpcerr.FromStore(ctx, s.log, service, op, err)
}

func denied(format string, args ...any) error {
	return status.Errorf(codes.PermissionDenied, service+": "+format, args...)
}

// noMinutes is the revision shown before anything is written: revision 1,
// a draft at version 0 (the version the first save is based on).
func noMinutes(v *view) *revision {
	return &revision{Revision: 1, OrganizationID: v.m.GetOrganizationId(), State: draft}
}

// contentOf returns what revision r says: as frozen for an approved
// revision, else the meeting's current header with the saved text and the
// vote results.
func (s *Service) contentOf(ctx context.Context, q querier, v *view, r *revision, stored bool) (content, error) {
	var saved []item
	if stored {
		var err error
		if saved, err = readItems(ctx, q, v.id, r.Revision); err != nil {
			return content{}, err
		}
	}
	if r.State == approved && r.Header != nil {
		return content{Header: *r.Header, Items: saved}, nil
	}
	votes, err := readVotes(ctx, q, v.id)
	if err != nil {
		return content{}, err
	}
	return content{Header: buildHeader(v.m, v.org, v.parent), Items: liveItems(v.m, saved, votes)}, nil
}

// revisionFor returns revision rev (0: the latest) of the minutes and
// whether it is stored; before anything is written, revision 1 is the empty
// draft (revisions start at 1, so a missing revision 1 means none).
func (s *Service) revisionFor(ctx context.Context, v *view, rev int32) (*revision, bool, error) {
	r, err := readRevision(ctx, s.d.Pool, v.id, rev)
	if err != nil {
		return nil, false, s.fail(ctx, "read minutes", err)
	}
	if r != nil {
		return r, true, nil
	}
	if rev > 1 {
		return nil, false, status.Errorf(codes.NotFound, "%s: minutes revision %d of meeting %s not found", service, rev, v.id)
	}
	return noMinutes(v), false, nil
}

// GetMinutes returns a revision of the minutes (the latest by default).
func (s *Service) GetMinutes(ctx context.Context, req *meetingsv1.GetMinutesRequest) (*meetingsv1.GetMinutesResponse, error) {
	c, err := s.caller(ctx)
	if err != nil {
		return nil, err
	}
	v, err := s.load(ctx, c, req.GetMeetingId())
	if err != nil {
		return nil, err
	}
	if vs := checkRevision(req.GetRevision()); len(vs) > 0 {
		return nil, rpcerr.Invalid(service, vs)
	}
	r, stored, err := s.revisionFor(ctx, v, req.GetRevision())
	if err != nil {
		return nil, err
	}
	ct, err := s.contentOf(ctx, s.d.Pool, v, r, stored)
	if err != nil {
		return nil, s.fail(ctx, "GetMinutes", err)
	}
	return &meetingsv1.GetMinutesResponse{Minutes: toProto(v.id, r, ct)}, nil
}

// ListMinutesRevisions returns every stored revision, oldest first.
func (s *Service) ListMinutesRevisions(ctx context.Context, req *meetingsv1.ListMinutesRevisionsRequest) (*meetingsv1.ListMinutesRevisionsResponse, error) {
	c, err := s.caller(ctx)
	if err != nil {
		return nil, err
	}
	v, err := s.load(ctx, c, req.GetMeetingId())
	if err != nil {
		return nil, err
	}
	revs, err := listRevisions(ctx, s.d.Pool, v.id)
	if err != nil {
		return nil, s.fail(ctx, "ListMinutesRevisions", err)
	}
	out := &meetingsv1.ListMinutesRevisionsResponse{}
	for _, r := range revs {
		ct, err := s.contentOf(ctx, s.d.Pool, v, r, true)
		if err != nil {
			return nil, s.fail(ctx, "ListMinutesRevisions", err)
		}
		out.Revisions = append(out.Revisions, toProto(v.id, r, ct))
	}
	return out, nil
}

// change is what a write did, for the audit trail.
type change struct {
	action  string
	reason  string
	payload map[string]any
}

// write runs a change of the minutes in one transaction: under the
// meeting's minutes lock it checks the states and the version, lets apply
// store the change, enqueues the event, appends the audit record and
// returns the changed revision. expected < 0 skips the version check (an
// amendment starts a new revision; there is no version to be stale).
func (s *Service) write(ctx context.Context, c identity.Claims, v *view, o op, expected int64, rpc string,
	apply func(tx pgx.Tx, cur *revision, stored bool) (*revision, change, error)) (*meetingsv1.Minutes, error) {
	var out *meetingsv1.Minutes
	err := pgx.BeginFunc(ctx, s.d.Pool, func(tx pgx.Tx) error {
		if err := lockMinutes(ctx, tx, v.id); err != nil {
			return err
		}
		cur, err := readRevision(ctx, tx, v.id, 0)
		if err != nil {
			return err
		}
		stored := cur != nil
		if !stored {
			cur = noMinutes(v)
		}
		if err := checkState(o, v.m.GetState(), cur.Revision, cur.State); err != nil {
			return err
		}
		if expected >= 0 {
			if err := checkVersion(cur.Version, expected); err != nil {
				return err
			}
		}
		next, ch, err := apply(tx, cur, stored)
		if err != nil {
			return err
		}
		if err := s.enqueue(ctx, tx, c.Subject, v.m, next, o == opApprove); err != nil {
			return err
		}
		// Last: the audit lock is held until commit and serialises every
		// audited change of the schema.
		if err := audit.Append(ctx, tx, audit.Record{
			Subject: auditSubject(v.id), Action: ch.action, ActorID: c.Subject, Reason: ch.reason, Payload: ch.payload,
		}); err != nil {
			return err
		}
		ct, err := s.contentOf(ctx, tx, v, next, true)
		if err != nil {
			return err
		}
		out = toProto(v.id, next, ct)
		return nil
	})
	if err != nil {
		return nil, s.fail(ctx, rpc, err)
	}
	return out, nil
}

// enqueue stores the event of a change: MinutesApproved for an approval,
// MinutesChanged for anything else.
func (s *Service) enqueue(ctx context.Context, tx pgx.Tx, actor string, m *meetingsv1.Meeting, r *revision, approval bool) error {
	// The aggregate is the minutes, not the meeting: their versions count
	// separately, and a client ordering a meeting's events by version must
	// not mistake one for the other.
	meta := outbox.NewMeta(actor, m.GetId()+"/minutes", m.GetOrganizationId(), r.Version)
	for _, p := range m.GetParticipants() {
		meta.Audience = append(meta.Audience, p.GetPersonId())
	}
	var ev proto.Message
	var name string
	if approval {
		ev, name = &meetingsv1.MinutesApproved{Meta: meta, MeetingId: m.GetId(), Revision: r.Revision, ContentHash: r.ContentHash}, "minutes_approved"
	} else {
		ev, name = &meetingsv1.MinutesChanged{Meta: meta, MeetingId: m.GetId(), Revision: r.Revision, State: r.State, Version: r.Version}, "minutes_changed"
	}
	return outbox.Enqueue(ctx, tx, subject(m.GetId(), name), ev)
}

// SaveItemMinutes stores one agenda item's text.
func (s *Service) SaveItemMinutes(ctx context.Context, req *meetingsv1.SaveItemMinutesRequest) (*meetingsv1.SaveItemMinutesResponse, error) {
	c, err := s.caller(ctx)
	if err != nil {
		return nil, err
	}
	v, err := s.load(ctx, c, req.GetMeetingId())
	if err != nil {
		return nil, err
	}
	if !v.acc.write {
		return nil, denied("only the meeting's minute-taker or an administrator of its organisation may write its minutes")
	}
	t, vs := validateSave(req, v.m)
	if len(vs) > 0 {
		return nil, rpcerr.Invalid(service, vs)
	}
	a := agendaItem(v.m, t.agendaItemID)
	m, err := s.write(ctx, c, v, opSave, req.GetExpectedVersion(), "SaveItemMinutes",
		func(tx pgx.Tx, cur *revision, stored bool) (*revision, change, error) {
			next := *cur
			next.Version++
			if err := upsertRevision(ctx, tx, v.id, &next, stored); err != nil {
				return nil, change{}, err
			}
			err := saveItem(ctx, tx, v.id, next.Revision, item{
				AgendaItemID: t.agendaItemID, Title: a.GetTitle(), Position: a.GetPosition(),
				Discussion: t.discussion, Opinions: t.opinions, Conclusions: t.conclusions,
			})
			return &next, change{action: actionSaved, payload: map[string]any{
				"revision": next.Revision, "version": next.Version, "agenda_item_id": t.agendaItemID,
			}}, err
		})
	if err != nil {
		return nil, err
	}
	return &meetingsv1.SaveItemMinutesResponse{Minutes: m}, nil
}

// upsertRevision stores r: inserted when it is the first change of the
// minutes, else updated.
func upsertRevision(ctx context.Context, tx pgx.Tx, meetingID string, r *revision, stored bool) error {
	if stored {
		return updateRevision(ctx, tx, meetingID, r)
	}
	return insertRevision(ctx, tx, meetingID, r)
}

// SubmitMinutes hands the draft to the chair.
func (s *Service) SubmitMinutes(ctx context.Context, req *meetingsv1.SubmitMinutesRequest) (*meetingsv1.SubmitMinutesResponse, error) {
	c, err := s.caller(ctx)
	if err != nil {
		return nil, err
	}
	v, err := s.load(ctx, c, req.GetMeetingId())
	if err != nil {
		return nil, err
	}
	if !v.acc.write {
		return nil, denied("only the meeting's minute-taker or an administrator of its organisation may submit its minutes")
	}
	if vs := checkExpectedVersion(req.GetExpectedVersion()); len(vs) > 0 {
		return nil, rpcerr.Invalid(service, vs)
	}
	m, err := s.write(ctx, c, v, opSubmit, req.GetExpectedVersion(), "SubmitMinutes",
		func(tx pgx.Tx, cur *revision, stored bool) (*revision, change, error) {
			next := *cur
			next.Version++
			next.State = submitted
			// The chair's earlier objection has been dealt with.
			next.ReturnReason = ""
			err := upsertRevision(ctx, tx, v.id, &next, stored)
			return &next, change{action: actionSubmitted, payload: map[string]any{
				"revision": next.Revision, "version": next.Version,
			}}, err
		})
	if err != nil {
		return nil, err
	}
	return &meetingsv1.SubmitMinutesResponse{Minutes: m}, nil
}

// ReturnMinutes sends submitted minutes back to the minute-taker.
func (s *Service) ReturnMinutes(ctx context.Context, req *meetingsv1.ReturnMinutesRequest) (*meetingsv1.ReturnMinutesResponse, error) {
	c, err := s.caller(ctx)
	if err != nil {
		return nil, err
	}
	v, err := s.load(ctx, c, req.GetMeetingId())
	if err != nil {
		return nil, err
	}
	if !v.acc.decide {
		return nil, denied("only the chair of the meeting may return its minutes")
	}
	reason, vs := validateReason(req.GetReason())
	vs = append(checkExpectedVersion(req.GetExpectedVersion()), vs...)
	if len(vs) > 0 {
		return nil, rpcerr.Invalid(service, vs)
	}
	m, err := s.write(ctx, c, v, opReturn, req.GetExpectedVersion(), "ReturnMinutes",
		func(tx pgx.Tx, cur *revision, stored bool) (*revision, change, error) {
			next := *cur
			next.Version++
			next.State = draft
			next.ReturnReason = reason
			err := upsertRevision(ctx, tx, v.id, &next, stored)
			return &next, change{action: actionReturned, reason: reason, payload: map[string]any{
				"revision": next.Revision, "version": next.Version,
			}}, err
		})
	if err != nil {
		return nil, err
	}
	return &meetingsv1.ReturnMinutesResponse{Minutes: m}, nil
}

// ApproveMinutes locks the submitted revision: its header and vote results
// are frozen, its content hash goes into the audit trail, and approving the
// first revision closes the meeting, all in one transaction.
func (s *Service) ApproveMinutes(ctx context.Context, req *meetingsv1.ApproveMinutesRequest) (*meetingsv1.ApproveMinutesResponse, error) {
	c, err := s.caller(ctx)
	if err != nil {
		return nil, err
	}
	v, err := s.load(ctx, c, req.GetMeetingId())
	if err != nil {
		return nil, err
	}
	if !v.acc.decide {
		return nil, denied("only the chair of the meeting may approve its minutes")
	}
	if vs := checkExpectedVersion(req.GetExpectedVersion()); len(vs) > 0 {
		return nil, rpcerr.Invalid(service, vs)
	}
	approver := c.Name
	for _, p := range v.m.GetParticipants() {
		if p.GetPersonId() == c.Subject {
			approver = p.GetFullName()
		}
	}
	m, err := s.write(ctx, c, v, opApprove, req.GetExpectedVersion(), "ApproveMinutes",
		func(tx pgx.Tx, cur *revision, stored bool) (*revision, change, error) {
			ct, err := s.contentOf(ctx, tx, v, cur, stored)
			if err != nil {
				return nil, change{}, err
			}
			next := *cur
			next.Version++
			next.State = approved
			next.ReturnReason = ""
			next.Header = &ct.Header
			next.ApprovedBy, next.ApprovedByName = c.Subject, approver
			next.ApproveTime = time.Now().UTC().Truncate(time.Microsecond) // as timestamptz keeps it
			next.ContentHash = contentHash(v.id, &next, ct)
			if err := freeze(ctx, tx, v.id, &next, ct); err != nil {
				return nil, change{}, err
			}
			// Amendments are approved on a meeting that is already closed.
			if next.Revision == 1 {
				if err := s.d.Meetings.Close(ctx, tx, v.id, c.Subject); err != nil {
					return nil, change{}, fmt.Errorf("close meeting: %w", err)
				}
			}
			return &next, change{action: actionApproved, payload: map[string]any{
				"revision": next.Revision, "content_hash": next.ContentHash,
			}}, nil
		})
	if err != nil {
		return nil, err
	}
	return &meetingsv1.ApproveMinutesResponse{Minutes: m}, nil
}

// AmendMinutes starts a new draft revision from the approved one.
func (s *Service) AmendMinutes(ctx context.Context, req *meetingsv1.AmendMinutesRequest) (*meetingsv1.AmendMinutesResponse, error) {
	c, err := s.caller(ctx)
	if err != nil {
		return nil, err
	}
	v, err := s.load(ctx, c, req.GetMeetingId())
	if err != nil {
		return nil, err
	}
	if !v.acc.write {
		return nil, denied("only the meeting's minute-taker or an administrator of its organisation may amend its minutes")
	}
	reason, vs := validateReason(req.GetReason())
	if len(vs) > 0 {
		return nil, rpcerr.Invalid(service, vs)
	}
	m, err := s.write(ctx, c, v, opAmend, -1, "AmendMinutes",
		func(tx pgx.Tx, cur *revision, _ bool) (*revision, change, error) {
			next := &revision{
				Revision:        cur.Revision + 1,
				OrganizationID:  v.m.GetOrganizationId(),
				State:           draft,
				Version:         cur.Version + 1,
				AmendmentReason: reason,
			}
			if err := insertRevision(ctx, tx, v.id, next); err != nil {
				return nil, change{}, err
			}
			err := copyItems(ctx, tx, v.id, cur.Revision, next.Revision)
			return next, change{action: actionAmended, reason: reason, payload: map[string]any{
				"revision": next.Revision, "amends": cur.Revision, "version": next.Version,
			}}, err
		})
	if err != nil {
		return nil, err
	}
	return &meetingsv1.AmendMinutesResponse{Minutes: m}, nil
}

// ExportMinutesPdf renders a revision (the latest by default) as a PDF.
func (s *Service) ExportMinutesPdf(ctx context.Context, req *meetingsv1.ExportMinutesPdfRequest) (*meetingsv1.ExportMinutesPdfResponse, error) {
	c, err := s.caller(ctx)
	if err != nil {
		return nil, err
	}
	v, err := s.load(ctx, c, req.GetMeetingId())
	if err != nil {
		return nil, err
	}
	if vs := checkRevision(req.GetRevision()); len(vs) > 0 {
		return nil, rpcerr.Invalid(service, vs)
	}
	r, stored, err := s.revisionFor(ctx, v, req.GetRevision())
	if err != nil {
		return nil, err
	}
	ct, err := s.contentOf(ctx, s.d.Pool, v, r, stored)
	if err != nil {
		return nil, s.fail(ctx, "ExportMinutesPdf", err)
	}
	pdf, err := s.renderPDF(r, ct)
	if err != nil {
		var missing *missingFont
		if errors.As(err, &missing) {
			return nil, status.Errorf(codes.FailedPrecondition, "%s: cannot export the minutes as PDF: %v", service, missing)
		}
		s.log.ErrorContext(ctx, "render minutes PDF", "meeting_id", v.id, "err", err)
		return nil, status.Errorf(codes.Internal, "%s: internal error while rendering the minutes PDF", service)
	}
	return &meetingsv1.ExportMinutesPdfResponse{
		Pdf:      pdf,
		FileName: fmt.Sprintf("bien-ban-%s-r%d.pdf", v.id, r.Revision),
	}, nil
}

// VerifyAuditTrail checks the hash chain of a meeting's audit records (or
// of every meeting the caller administers) and that each approved revision
// still matches the content hash recorded when it was approved.
func (s *Service) VerifyAuditTrail(ctx context.Context, req *meetingsv1.VerifyAuditTrailRequest) (*meetingsv1.VerifyAuditTrailResponse, error) {
	c, err := s.caller(ctx)
	if err != nil {
		return nil, err
	}
	if req.GetMeetingId() != "" {
		v, err := s.load(ctx, c, req.GetMeetingId())
		if err != nil {
			return nil, err
		}
		if !v.acc.verify {
			return nil, denied("only an administrator of the meeting's organisation may verify its audit trail")
		}
		return s.verify(ctx, auditSubject(v.id), []string{v.id})
	}

	all := c.HasRole(identity.RoleSystemAdmin)
	if !all && len(c.AdminOrgs) == 0 {
		return nil, denied("verifying audit trails needs administrator rights in an organisation")
	}
	ids, err := meetingsWithMinutes(ctx, s.d.Pool, c.AdminOrgs, all)
	if err != nil {
		return nil, s.fail(ctx, "VerifyAuditTrail", err)
	}
	if all {
		// A system administrator checks the whole chain, records of
		// meetings without minutes included.
		return s.verify(ctx, "", ids)
	}
	resp := &meetingsv1.VerifyAuditTrailResponse{Intact: true}
	for _, id := range ids {
		r, err := s.verify(ctx, auditSubject(id), []string{id})
		if err != nil {
			return nil, err
		}
		resp.RecordsChecked += r.GetRecordsChecked()
		if !r.GetIntact() {
			resp.Intact, resp.Problem = false, r.GetProblem()
			break
		}
	}
	return resp, nil
}

// verify checks the chain of the records under prefix, then the approved
// revisions of the given meetings against the hashes the chain recorded.
func (s *Service) verify(ctx context.Context, prefix string, meetingIDs []string) (*meetingsv1.VerifyAuditTrailResponse, error) {
	n, err := audit.Verify(ctx, s.d.Pool, prefix)
	if audit.IsBroken(err) {
		return &meetingsv1.VerifyAuditTrailResponse{RecordsChecked: n, Intact: false, Problem: err.Error()}, nil
	}
	if err != nil {
		return nil, s.fail(ctx, "VerifyAuditTrail", err)
	}
	for _, id := range meetingIDs {
		problem, err := s.checkApprovals(ctx, id)
		if err != nil {
			return nil, s.fail(ctx, "VerifyAuditTrail", err)
		}
		if problem != "" {
			return &meetingsv1.VerifyAuditTrailResponse{RecordsChecked: n, Intact: false, Problem: problem}, nil
		}
	}
	return &meetingsv1.VerifyAuditTrailResponse{RecordsChecked: n, Intact: true}, nil
}

// checkApprovals recomputes the content hash of each approved revision of
// the meeting's minutes and compares it with the stored one and with the
// one the audit trail recorded at approval; it describes the first
// mismatch, or returns "".
func (s *Service) checkApprovals(ctx context.Context, meetingID string) (string, error) {
	revs, err := listRevisions(ctx, s.d.Pool, meetingID)
	if err != nil {
		return "", err
	}
	recorded, err := approvalHashes(ctx, s.d.Pool, meetingID)
	if err != nil {
		return "", err
	}
	for _, r := range revs {
		if r.State != approved {
			continue
		}
		items, err := readItems(ctx, s.d.Pool, meetingID, r.Revision)
		if err != nil {
			return "", err
		}
		var hdr header
		if r.Header != nil {
			hdr = *r.Header
		}
		got := contentHash(meetingID, r, content{Header: hdr, Items: items})
		switch want, ok := recorded[r.Revision]; {
		case got != r.ContentHash:
			return fmt.Sprintf("minutes revision %d of meeting %s no longer match the content hash stored when they were approved: the approved minutes were changed",
				r.Revision, meetingID), nil
		case !ok:
			return fmt.Sprintf("the approval of minutes revision %d of meeting %s is missing from the audit trail", r.Revision, meetingID), nil
		case want != r.ContentHash:
			return fmt.Sprintf("minutes revision %d of meeting %s have content hash %s, but the audit trail recorded %s at approval",
				r.Revision, meetingID, r.ContentHash, want), nil
		}
	}
	return "", nil
}
