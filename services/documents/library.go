package documents

import (
	"context"
	"errors"
	"regexp"
	"slices"
	"strings"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	documentsv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/documents/v1"
	meetingsv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/meetings/v1"
	"github.com/ecabinet/ecabinet/services/platform/identity"
	"github.com/ecabinet/ecabinet/services/platform/rpcerr"
)

// The library of monthly cell-meeting materials (tài liệu sinh hoạt chi
// bộ): an organisation's administrators publish documents for a month to
// every organisation below it; their members read them like agenda papers,
// and study tracking counts them by organisation. The organisations are
// fixed when a document is published.

var periodPattern = regexp.MustCompile(`^[0-9]{4}-(0[1-9]|1[0-2])$`)

// maxAudience bounds the organisations one document goes to: a province
// bloc has 74 grassroots organisations and their cells.
const maxAudience = 5000

// audienceOrg is one organisation a library document is published to.
type audienceOrg struct {
	id, name string
	depth    int
}

// isLibraryUpload tells a library document's upload from a meeting paper's.
func isLibraryUpload(req *documentsv1.NewDocument) bool {
	return req.GetMeetingId() == "" && (req.GetOrganizationId() != "" || req.GetLibraryPeriod() != "")
}

// planLibraryDocument validates a library document's metadata, checks that
// the caller administers the publishing organisation, and finds the
// organisations it goes to.
func (s *Service) planLibraryDocument(ctx context.Context, c identity.Claims, req *documentsv1.NewDocument, common documentFields) (*upload, error) {
	vs := common.violations
	org := strings.TrimSpace(req.GetOrganizationId())
	if org == "" {
		vs = append(vs, rpcerr.Violation{Field: "new_document.organization_id", Reason: rpcerr.ReasonRequired, Description: "must name the publishing organisation"})
	}
	period := strings.TrimSpace(req.GetLibraryPeriod())
	if !periodPattern.MatchString(period) {
		vs = append(vs, rpcerr.Violation{Field: "new_document.library_period", Reason: rpcerr.ReasonInvalidFormat, Description: "must be a month, YYYY-MM"})
	}
	if req.GetAgendaItemId() != "" {
		vs = append(vs, rpcerr.Violation{Field: "new_document.agenda_item_id", Reason: rpcerr.ReasonInvalidFormat, Description: "a library document belongs to no meeting"})
	}
	if req.GetClassification() == documentsv1.Classification_CLASSIFICATION_CONFIDENTIAL {
		vs = append(vs, rpcerr.Violation{Field: "new_document.classification", Reason: rpcerr.ReasonInvalidFormat,
			Description: "a library document is public or internal; confidential papers belong to a meeting"})
	}
	if len(vs) > 0 {
		return nil, rpcerr.Invalid(Name, vs)
	}
	if !c.IsOrgAdmin(org) {
		return nil, status.Errorf(codes.PermissionDenied, "%s: only the organisation's administrators publish to its library", Name)
	}
	orgs, err := s.subtree(ctx, org)
	if err != nil {
		return nil, err
	}
	id, err := uuid.NewV7()
	if err != nil {
		return nil, status.Errorf(codes.Internal, "%s: new document id: %v", Name, err)
	}
	return &upload{
		documentID: id.String(),
		newDocument: &documentsv1.Document{
			OrganizationId: org,
			LibraryPeriod:  period,
			Title:          common.title,
			Kind:           req.GetKind(),
			Classification: req.GetClassification(),
			DownloadPolicy: common.policy,
		},
		version:         &documentsv1.DocumentVersion{FileName: common.fileName},
		actor:           c.Subject,
		libraryAudience: orgs,
		limit:           s.uploadLimit(req.GetKind()),
		key:             common.key,
	}, nil
}

// subtree lists org and every organisation below it, as the caller (an
// administrator of org) sees them in the directory, breadth first.
func (s *Service) subtree(ctx context.Context, org string) ([]audienceOrg, error) {
	if s.d.Directory == nil {
		return nil, status.Errorf(codes.Unavailable, "%s: the directory is not configured", Name)
	}
	root, err := s.d.Directory.GetOrganization(ctx, &meetingsv1.GetOrganizationRequest{OrganizationId: org})
	if err != nil {
		return nil, s.directoryError(ctx, org, err)
	}
	out := []audienceOrg{{id: org, name: root.GetOrganization().GetName()}}
	for i := 0; i < len(out); i++ {
		kids, err := s.d.Directory.ListOrganizations(ctx, &meetingsv1.ListOrganizationsRequest{ParentId: out[i].id})
		if err != nil {
			return nil, s.directoryError(ctx, out[i].id, err)
		}
		for _, k := range kids.GetOrganizations() {
			out = append(out, audienceOrg{id: k.GetId(), name: k.GetName(), depth: out[i].depth + 1})
		}
		if len(out) > maxAudience {
			return nil, status.Errorf(codes.FailedPrecondition, "%s: more than %d organisations below %s; publish from a lower one", Name, maxAudience, org)
		}
	}
	return out, nil
}

// directoryError turns a failed directory call into the caller's answer.
func (s *Service) directoryError(ctx context.Context, org string, err error) error {
	err = rpcerr.FromPeer(ctx, s.log, Name, "directory", err)
	if errors.Is(err, rpcerr.ErrHidden) {
		return status.Errorf(codes.NotFound, "%s: organisation %s not found", Name, org)
	}
	return err
}

// inAudience reports whether one of orgs received library document id.
func (s *Service) inAudience(ctx context.Context, id string, orgs []string) (bool, error) {
	if len(orgs) == 0 {
		return false, nil
	}
	var ok bool
	err := s.d.Pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM library_audience WHERE document_id = $1 AND organization_id = ANY($2))`, id, orgs).Scan(&ok)
	return ok, err
}

func (a *api) ListLibrary(ctx context.Context, req *documentsv1.ListLibraryRequest) (*documentsv1.ListLibraryResponse, error) {
	c, err := a.start(ctx)
	if err != nil {
		return nil, err
	}
	period := strings.TrimSpace(req.GetPeriod())
	if period != "" && !periodPattern.MatchString(period) {
		return nil, rpcerr.Invalid(Name, []rpcerr.Violation{{Field: "period", Reason: rpcerr.ReasonInvalidFormat, Description: "must be a month, YYYY-MM"}})
	}
	all := c.HasRole(identity.RoleSystemAdmin)
	rows, err := a.s.d.Pool.Query(ctx, `
		SELECT `+documentColumns+` FROM documents d
		WHERE meeting_id IS NULL AND withdraw_time IS NULL AND ($1 = '' OR library_period = $1)
		  AND ($2 OR organization_id = ANY($3)
		       OR EXISTS (SELECT 1 FROM library_audience a WHERE a.document_id = d.id AND a.organization_id = ANY($4)))
		ORDER BY library_period DESC, create_time, id`,
		period, all, slices.Concat(c.Orgs, c.AdminOrgs), slices.Concat(c.Orgs, c.AdminOrgs))
	if err != nil {
		return nil, rpcerr.FromStore(ctx, a.s.log, Name, "ListLibrary", err)
	}
	docs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*documentsv1.Document, error) { return scanDocument(r) })
	if err != nil {
		return nil, rpcerr.FromStore(ctx, a.s.log, Name, "ListLibrary", err)
	}
	return &documentsv1.ListLibraryResponse{Documents: docs}, nil
}

// libraryReport builds the study report of a library document for a
// caller who administers some of the organisations it went to: the
// current members of those, each counted once, in the deepest organisation
// they belong to.
func (s *Service) libraryReport(ctx context.Context, c identity.Claims, d *documentsv1.Document) (*documentsv1.GetStudyReportResponse, error) {
	rows, err := s.d.Pool.Query(ctx, `SELECT organization_id, organization_name, depth FROM library_audience
		WHERE document_id = $1 ORDER BY depth DESC, organization_name`, d.GetId())
	if err != nil {
		return nil, rpcerr.FromStore(ctx, s.log, Name, "GetStudyReport", err)
	}
	var orgs []audienceOrg
	var o audienceOrg
	if _, err := pgx.ForEachRow(rows, []any{&o.id, &o.name, &o.depth}, func() error {
		if c.IsOrgAdmin(o.id) {
			orgs = append(orgs, o)
		}
		return nil
	}); err != nil {
		return nil, rpcerr.FromStore(ctx, s.log, Name, "GetStudyReport", err)
	}
	if len(orgs) == 0 {
		return nil, status.Errorf(codes.PermissionDenied, "%s: the study report of a library document is for the administrators of the organisations it went to", Name)
	}
	read, err := s.studyRows(ctx, d.GetId())
	if err != nil {
		return nil, rpcerr.FromStore(ctx, s.log, Name, "GetStudyReport", err)
	}
	r := &documentsv1.GetStudyReportResponse{DocumentId: d.GetId(), Title: d.GetTitle(), PageCount: d.GetPageCount()}
	seen := map[string]bool{}
	for _, o := range orgs {
		members, err := s.d.Directory.ListMembers(ctx, &meetingsv1.ListMembersRequest{OrganizationId: o.id})
		if err != nil {
			return nil, s.directoryError(ctx, o.id, err)
		}
		sum := &documentsv1.OrganizationStudy{OrganizationId: o.id, Name: o.name}
		for _, m := range members.GetMemberships() {
			if seen[m.GetPersonId()] {
				continue
			}
			seen[m.GetPersonId()] = true
			row := reportRow(m.GetPersonId(), m.GetPersonFullName(), read)
			row.OrganizationId, row.OrganizationName = o.id, o.name
			r.Rows = append(r.Rows, row)
			sum.Expected++
			if row.GetOpened() {
				r.Opened++
			}
			if row.GetReadToEnd() {
				sum.Studied++
			}
		}
		r.Expected += sum.GetExpected()
		r.Studied += sum.GetStudied()
		if sum.GetExpected() > 0 { // an organisation with no members of its own has nothing to report
			r.Organizations = append(r.Organizations, sum)
		}
	}
	sortReport(r.Rows)
	// Fewest studied first, by share: the organisations to remind.
	slices.SortStableFunc(r.Organizations, func(a, b *documentsv1.OrganizationStudy) int {
		return int(int64(a.GetStudied())*int64(max(b.GetExpected(), 1)) - int64(b.GetStudied())*int64(max(a.GetExpected(), 1)))
	})
	return r, nil
}
