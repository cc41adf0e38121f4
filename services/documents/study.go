package documents

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/xuri/excelize/v2"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	documentsv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/documents/v1"
	meetingsv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/meetings/v1"
	"github.com/ecabinet/ecabinet/services/platform/outbox"
	"github.com/ecabinet/ecabinet/services/platform/rpcerr"
	"github.com/ecabinet/ecabinet/services/platform/unaccent"
)

// maxPagesPerReport bounds one RecordStudy call; a viewer reports the pages
// seen since its last report, a few at a time.
const maxPagesPerReport = 10000

// maxPage bounds page numbers of documents whose page count is unknown.
const maxPage = 100000

func (a *api) RecordStudy(ctx context.Context, req *documentsv1.RecordStudyRequest) (*documentsv1.RecordStudyResponse, error) {
	c, err := a.start(ctx)
	if err != nil {
		return nil, err
	}
	id, vs := parseID("document_id", req.GetDocumentId())
	if len(req.GetPagesSeen()) > maxPagesPerReport {
		vs = append(vs, rpcerr.Violation{Field: "pages_seen", Reason: "TOO_MANY", Description: fmt.Sprintf("at most %d pages per call", maxPagesPerReport)})
	}
	if len(vs) > 0 {
		return nil, rpcerr.Invalid(Name, vs)
	}
	d, err := a.s.readable(ctx, c, id)
	if err != nil {
		return nil, err
	}
	last := int32(maxPage)
	if d.GetPageCount() > 0 {
		last = d.GetPageCount()
	}
	for i, p := range req.GetPagesSeen() {
		if p < 1 || p > last {
			vs = append(vs, rpcerr.Violation{Field: fmt.Sprintf("pages_seen[%d]", i), Reason: "OUT_OF_RANGE",
				Description: fmt.Sprintf("page %d is not between 1 and %d", p, last)})
		}
	}
	if len(vs) > 0 {
		return nil, rpcerr.Invalid(Name, vs)
	}
	pages := slices.Clone(req.GetPagesSeen())
	slices.Sort(pages)
	pages = slices.Compact(pages)
	p, err := a.s.recordStudy(ctx, d, c.Subject, pages, req.GetReachedEnd())
	if err != nil {
		return nil, rpcerr.FromStore(ctx, a.s.log, Name, "RecordStudy", err)
	}
	return &documentsv1.RecordStudyResponse{Progress: p}, nil
}

// recordStudy merges pages into the person's row and, when this is their
// first open or they have just read to the end, enqueues DocumentStudied in
// the same transaction. The row is made first (empty) and then locked, so
// two devices reporting at once — even the very first time — lose nothing.
func (s *Service) recordStudy(ctx context.Context, d *documentsv1.Document, person string, pages []int32, reachedEnd bool) (*documentsv1.StudyProgress, error) {
	p := &documentsv1.StudyProgress{DocumentId: d.GetId(), PersonId: person, PageCount: d.GetPageCount()}
	err := pgx.BeginFunc(ctx, s.d.Pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `INSERT INTO study (document_id, person_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`, d.GetId(), person)
		if err != nil {
			return fmt.Errorf("open study: %w", err)
		}
		firstOpen := tag.RowsAffected() == 1
		var seen []int32
		var wasEnd bool
		if err := tx.QueryRow(ctx, `SELECT pages_seen, read_to_end FROM study WHERE document_id = $1 AND person_id = $2 FOR UPDATE`,
			d.GetId(), person).Scan(&seen, &wasEnd); err != nil {
			return fmt.Errorf("read study: %w", err)
		}
		seen = append(seen, pages...)
		slices.Sort(seen)
		p.PagesSeen = slices.Compact(seen)
		if p.PagesSeen == nil {
			p.PagesSeen = []int32{} // opened, no page yet: an empty set, not NULL
		}
		// A PDF whose every page has been seen is read to the end, however
		// the pages were reported.
		p.ReadToEnd = wasEnd || reachedEnd || (d.GetPageCount() > 0 && len(p.PagesSeen) >= int(d.GetPageCount()))
		var first, last time.Time
		if err := tx.QueryRow(ctx, `
			UPDATE study SET pages_seen = $3, read_to_end = $4, last_time = now()
			WHERE document_id = $1 AND person_id = $2
			RETURNING first_open_time, last_time`,
			d.GetId(), person, p.PagesSeen, p.ReadToEnd).Scan(&first, &last); err != nil {
			return fmt.Errorf("record study: %w", err)
		}
		p.FirstOpenTime, p.LastTime = timestamppb.New(first), timestamppb.New(last)
		if !firstOpen && (wasEnd || !p.ReadToEnd) {
			return nil // nothing new for the report's readers
		}
		// No actor either: who read what is for the report's readers only.
		meta := outbox.NewMeta("", d.GetId(), d.GetOrganizationId(), 0)
		ev := &documentsv1.DocumentStudied{Meta: meta, DocumentId: d.GetId(), ReadToEnd: p.ReadToEnd}
		if err := outbox.Enqueue(ctx, tx, eventSubject(d.GetMeetingId(), "studied"), ev); err != nil {
			return fmt.Errorf("enqueue studied event: %w", err)
		}
		return nil
	})
	return p, err
}

func (a *api) GetStudyReport(ctx context.Context, req *documentsv1.GetStudyReportRequest) (*documentsv1.GetStudyReportResponse, error) {
	return a.studyReport(ctx, req.GetDocumentId())
}

func (a *api) ExportStudyReport(ctx context.Context, req *documentsv1.ExportStudyReportRequest) (*documentsv1.ExportStudyReportResponse, error) {
	r, err := a.studyReport(ctx, req.GetDocumentId())
	if err != nil {
		return nil, err
	}
	xlsx, err := studyWorkbook(r)
	if err != nil {
		return nil, status.Errorf(codes.Internal, "%s: write the workbook: %v", Name, err)
	}
	return &documentsv1.ExportStudyReportResponse{Xlsx: xlsx, FileName: "theo-doi-hoc-tap - " + truncateRunes(r.GetTitle(), 150) + ".xlsx"}, nil
}

// studyReport builds the report of one document for a caller who runs its
// meeting; others who may read it are refused, others get NotFound.
func (a *api) studyReport(ctx context.Context, documentID string) (*documentsv1.GetStudyReportResponse, error) {
	c, err := a.start(ctx)
	if err != nil {
		return nil, err
	}
	id, vs := parseID("document_id", documentID)
	if len(vs) > 0 {
		return nil, rpcerr.Invalid(Name, vs)
	}
	d, err := a.s.readable(ctx, c, id)
	if err != nil {
		return nil, err
	}
	if d.GetMeetingId() == "" {
		return a.s.libraryReport(ctx, c, d)
	}
	m, err := a.s.meeting(ctx, d.GetMeetingId())
	if errors.Is(err, errMeetingHidden) {
		return nil, notFound(id)
	}
	if err != nil {
		return nil, err
	}
	if !runs(m) && !c.IsOrgAdmin(d.GetOrganizationId()) {
		return nil, status.Errorf(codes.PermissionDenied,
			"%s: the study report of a paper is for its meeting's chair and minute-taker and the organisation's administrators", Name)
	}
	read, err := a.s.studyRows(ctx, id)
	if err != nil {
		return nil, rpcerr.FromStore(ctx, a.s.log, Name, "GetStudyReport", err)
	}
	return buildReport(d, expectedReaders(m), read), nil
}

// expectedReaders are the meeting's participants who are to study its
// papers: everyone but guests and observers.
func expectedReaders(m *meetingsv1.Meeting) []*meetingsv1.Participant {
	var ps []*meetingsv1.Participant
	for _, p := range m.GetParticipants() {
		switch p.GetRole() {
		case meetingsv1.ParticipantRole_PARTICIPANT_ROLE_GUEST, meetingsv1.ParticipantRole_PARTICIPANT_ROLE_OBSERVER:
			continue
		}
		ps = append(ps, p)
	}
	return ps
}

// studyRows returns what each person has read of a document, by person.
func (s *Service) studyRows(ctx context.Context, documentID string) (map[string]*documentsv1.StudyProgress, error) {
	rows, err := s.d.Pool.Query(ctx, `
		SELECT person_id, pages_seen, read_to_end, first_open_time, last_time
		FROM study WHERE document_id = $1`, documentID)
	if err != nil {
		return nil, err
	}
	out := map[string]*documentsv1.StudyProgress{}
	var p documentsv1.StudyProgress
	var first, last time.Time
	_, err = pgx.ForEachRow(rows, []any{&p.PersonId, &p.PagesSeen, &p.ReadToEnd, &first, &last}, func() error {
		out[p.PersonId] = &documentsv1.StudyProgress{DocumentId: documentID, PersonId: p.PersonId, PagesSeen: p.PagesSeen,
			ReadToEnd: p.ReadToEnd, FirstOpenTime: timestamppb.New(first), LastTime: timestamppb.New(last)}
		return nil
	})
	return out, err
}

// buildReport joins the expected readers with what was read.
func buildReport(d *documentsv1.Document, expected []*meetingsv1.Participant, read map[string]*documentsv1.StudyProgress) *documentsv1.GetStudyReportResponse {
	r := &documentsv1.GetStudyReportResponse{DocumentId: d.GetId(), Title: d.GetTitle(), PageCount: d.GetPageCount(), Expected: int32(len(expected))}
	for _, p := range expected {
		row := reportRow(p.GetPersonId(), p.GetFullName(), read)
		if row.GetOpened() {
			r.Opened++
		}
		if row.GetReadToEnd() {
			r.Studied++
		}
		r.Rows = append(r.Rows, row)
	}
	sortReport(r.Rows)
	return r
}

// reportRow is one expected reader's line: what they read, if anything.
func reportRow(person, name string, read map[string]*documentsv1.StudyProgress) *documentsv1.StudyReportRow {
	row := &documentsv1.StudyReportRow{PersonId: person, FullName: name}
	if s, ok := read[person]; ok {
		row.Opened, row.PagesSeen, row.ReadToEnd, row.LastTime = true, int32(len(s.GetPagesSeen())), s.GetReadToEnd(), s.GetLastTime()
	}
	return row
}

// sortReport puts those who have not studied the paper first (the list an
// organiser acts on), then orders by name without diacritics, as
// Vietnamese readers sort.
func sortReport(rows []*documentsv1.StudyReportRow) {
	slices.SortStableFunc(rows, func(a, b *documentsv1.StudyReportRow) int {
		if a.ReadToEnd != b.ReadToEnd {
			if !a.ReadToEnd {
				return -1
			}
			return 1
		}
		return strings.Compare(unaccent.Fold(a.FullName), unaccent.Fold(b.FullName))
	})
}

// studyWorkbook writes the report as one sheet: a summary line, then a
// row per expected reader. Headings are Vietnamese, as the organisers
// file it.
func studyWorkbook(r *documentsv1.GetStudyReportResponse) ([]byte, error) {
	f := excelize.NewFile()
	defer func() { _ = f.Close() }()
	const sheet = "Theo dõi học tập"
	if err := f.SetSheetName("Sheet1", sheet); err != nil {
		return nil, err
	}
	rows := [][]any{
		{"Tài liệu", r.GetTitle()},
		{"Đã học", fmt.Sprintf("%d/%d (%s)", r.GetStudied(), r.GetExpected(), perMille(r.GetStudied(), r.GetExpected()))},
		{},
		{"STT", "Họ và tên", "Đã mở", "Số trang đã xem", "Đã đọc hết", "Lần cuối", "Đơn vị"},
	}
	yes := func(b bool) string {
		if b {
			return "Có"
		}
		return "Chưa"
	}
	for i, row := range r.GetRows() {
		last := ""
		if row.GetLastTime() != nil {
			last = row.GetLastTime().AsTime().In(vietnam).Format("02/01/2006 15:04")
		}
		rows = append(rows, []any{i + 1, row.GetFullName(), yes(row.GetOpened()), row.GetPagesSeen(), yes(row.GetReadToEnd()), last, row.GetOrganizationName()})
	}
	if err := writeRows(f, sheet, rows); err != nil {
		return nil, err
	}
	if err := f.SetColWidth(sheet, "B", "B", 32); err != nil {
		return nil, err
	}
	if len(r.GetOrganizations()) > 0 {
		// A library document: how each organisation studied it.
		const bySheet = "Theo đơn vị"
		if _, err := f.NewSheet(bySheet); err != nil {
			return nil, err
		}
		units := [][]any{{"Đơn vị", "Số đảng viên", "Đã học", "Tỷ lệ"}}
		for _, o := range r.GetOrganizations() {
			units = append(units, []any{o.GetName(), o.GetExpected(), o.GetStudied(), perMille(o.GetStudied(), o.GetExpected())})
		}
		if err := writeRows(f, bySheet, units); err != nil {
			return nil, err
		}
		if err := f.SetColWidth(bySheet, "A", "A", 40); err != nil {
			return nil, err
		}
	}
	var buf bytes.Buffer
	if err := f.Write(&buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// perMille writes studied/expected as a percentage with one decimal, from
// integers, the Vietnamese way: 987 of 1000 -> "98,7 %".
func perMille(studied, expected int32) string {
	if expected <= 0 {
		return "0 %"
	}
	pm := int64(studied) * 1000 / int64(expected)
	return fmt.Sprintf("%d,%d %%", pm/10, pm%10)
}

func writeRows(f *excelize.File, sheet string, rows [][]any) error {
	for i, row := range rows {
		cell, err := excelize.CoordinatesToCellName(1, i+1)
		if err != nil {
			return err
		}
		if err := f.SetSheetRow(sheet, cell, &row); err != nil {
			return err
		}
	}
	return nil
}

// vietnam is the time zone the report's times are written in (UTC+7, no
// daylight saving), fixed so the report does not depend on the host's
// time zone database.
var vietnam = time.FixedZone("ICT", 7*60*60)
