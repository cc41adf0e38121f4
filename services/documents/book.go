package documents

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/minio/minio-go/v7"
	pdfapi "github.com/pdfcpu/pdfcpu/pkg/api"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	documentsv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/documents/v1"
	meetingsv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/meetings/v1"
	"github.com/ecabinet/ecabinet/services/platform/identity"
	"github.com/ecabinet/ecabinet/services/platform/outbox"
	"github.com/ecabinet/ecabinet/services/platform/rpcerr"
)

// bookKeepFor is how long a book must have gone unused before a newer one
// of the same meeting replaces it: long enough for a download that started
// on it to finish. Readers who see other papers have a book of their own,
// which stays while they use it.
const bookKeepFor = 10 * time.Minute

// bindTimeout bounds one binding, which every request for the book waits
// on.
const bindTimeout = 2 * time.Minute

// generalTitle heads the papers that belong to the meeting as a whole.
const generalTitle = "Tài liệu chung"

// bookPaper is one paper going into a book.
type bookPaper struct {
	doc     *documentsv1.Document
	version *documentsv1.DocumentVersion
	key     string
	item    *meetingsv1.AgendaItem // nil: the meeting as a whole
}

func (a *api) OpenMeetingBook(ctx context.Context, req *documentsv1.OpenMeetingBookRequest) (*documentsv1.OpenMeetingBookResponse, error) {
	c, err := a.start(ctx)
	if err != nil {
		return nil, err
	}
	meetingID, vs := parseID("meeting_id", req.GetMeetingId())
	if _, ok := documentsv1.AccessKind_name[int32(req.GetAccess())]; !ok || req.GetAccess() == documentsv1.AccessKind_ACCESS_KIND_UNSPECIFIED {
		vs = append(vs, enumViolation("access", req.GetAccess() == 0))
	}
	if len(vs) > 0 {
		return nil, rpcerr.Invalid(Name, vs)
	}
	m, err := a.s.meeting(ctx, meetingID)
	if errors.Is(err, errMeetingHidden) {
		return nil, status.Errorf(codes.NotFound, "%s: meeting %s not found", Name, meetingID)
	}
	if err != nil {
		return nil, err
	}
	papers, err := a.s.bookPapers(ctx, c, m)
	if err != nil {
		return nil, err
	}
	if len(papers) == 0 {
		return nil, status.Errorf(codes.FailedPrecondition, "%s: the meeting has no PDF paper you can read yet, so there is no meeting book", Name)
	}
	download := req.GetAccess() == documentsv1.AccessKind_ACCESS_KIND_DOWNLOAD
	policy := bookPolicy(papers, a.s.stampable)
	if download && policy == documentsv1.DownloadPolicy_DOWNLOAD_POLICY_VIEW_ONLY {
		return nil, status.Errorf(codes.PermissionDenied, "%s: the meeting book holds papers that can be read in the app only; it cannot be downloaded", Name)
	}

	key, book, entries, err := a.s.bind(ctx, c.Subject, m, papers)
	if err != nil {
		return nil, err
	}
	presign := a.s.presignShared
	if download && policy == documentsv1.DownloadPolicy_DOWNLOAD_POLICY_WATERMARKED {
		if book.GetSizeBytes() > a.s.cfg.PDFInspectMaxBytes {
			return nil, status.Errorf(codes.PermissionDenied, "%s: the meeting book is too large to stamp with your name, so it cannot be downloaded; read it in the app", Name)
		}
		if key, book, err = a.s.stampedCopy(ctx, c, key, book); err != nil {
			return nil, err
		}
		presign = a.s.presign // this reader's own copy
	}
	url, expires, err := presign(ctx, key)
	if err != nil {
		return nil, a.s.storageError(ctx, "presign", err)
	}
	// Reading the book is reading each paper in it (recorded together).
	rows := make([]*accessEntry, len(papers))
	for i, p := range papers {
		rows[i] = &accessEntry{documentID: p.doc.GetId(), version: p.version.GetVersion(), person: c.Subject, how: req.GetAccess().String()}
	}
	if err := a.s.access.record(ctx, rows...); err != nil {
		return nil, rpcerr.FromStore(ctx, a.s.log, Name, "OpenMeetingBook", err)
	}
	return &documentsv1.OpenMeetingBookResponse{Book: book, Url: url, UrlExpireTime: timestamppb.New(expires), Entries: entries}, nil
}

// bookPapers lists the meeting's papers the caller may read and that can
// be bound (PDFs that opened), in agenda order: the meeting's own papers
// first, then each item's in the order they were added.
func (s *Service) bookPapers(ctx context.Context, c identity.Claims, m *meetingsv1.Meeting) ([]bookPaper, error) {
	docs, err := s.listDocuments(ctx, m.GetId())
	if err != nil {
		return nil, rpcerr.FromStore(ctx, s.log, Name, "OpenMeetingBook", err)
	}
	items := map[string]*meetingsv1.AgendaItem{}
	for _, it := range m.GetAgenda() {
		items[it.GetId()] = it
	}
	r := s.readers(ctx, c)
	// m was just read as the caller, never from a cache: it answers the
	// participation question as freshly as GetMyParticipation would.
	r.participant[m.GetId()] = isParticipant(m, c.Subject)
	var papers []bookPaper
	for _, d := range docs {
		if d.GetContentType() != typePDF.contentType || d.GetPreview() != documentsv1.Preview_PREVIEW_AVAILABLE {
			continue
		}
		if ok, err := r.mayRead(d); err != nil {
			return nil, err
		} else if !ok {
			continue
		}
		item := items[d.GetAgendaItemId()] // nil for the meeting as a whole, or an item since removed
		_, v, key, err := s.openVersion(ctx, d.GetId(), 0)
		if errors.Is(err, errNotFound) || (err == nil && v == nil) {
			continue // withdrawn meanwhile
		}
		if err != nil {
			return nil, rpcerr.FromStore(ctx, s.log, Name, "OpenMeetingBook", err)
		}
		papers = append(papers, bookPaper{doc: d, version: v, key: key, item: item})
	}
	position := func(p bookPaper) int32 {
		if p.item == nil {
			return 0
		}
		return p.item.GetPosition()
	}
	// Stable: papers of one item keep the order they were added in.
	slices.SortStableFunc(papers, func(a, b bookPaper) int { return cmp.Compare(position(a), position(b)) })
	return papers, nil
}

// bookPolicy is the strictest download policy of the papers: a paper that
// cannot be stamped counts as view-only.
func bookPolicy(papers []bookPaper, stampable func(*documentsv1.DocumentVersion) bool) documentsv1.DownloadPolicy {
	policy := documentsv1.DownloadPolicy_DOWNLOAD_POLICY_ALLOWED
	for _, p := range papers {
		switch p.doc.GetDownloadPolicy() {
		case documentsv1.DownloadPolicy_DOWNLOAD_POLICY_VIEW_ONLY:
			return documentsv1.DownloadPolicy_DOWNLOAD_POLICY_VIEW_ONLY
		case documentsv1.DownloadPolicy_DOWNLOAD_POLICY_WATERMARKED:
			if !stampable(p.version) {
				return documentsv1.DownloadPolicy_DOWNLOAD_POLICY_VIEW_ONLY
			}
			policy = documentsv1.DownloadPolicy_DOWNLOAD_POLICY_WATERMARKED
		}
	}
	return policy
}

// bookEntries places the papers in the book and names the bookmarks.
func bookEntries(papers []bookPaper) ([]*documentsv1.BookEntry, []pdfcpu.Bookmark) {
	var entries []*documentsv1.BookEntry
	var marks []pdfcpu.Bookmark
	page := int32(1)
	for i, p := range papers {
		e := &documentsv1.BookEntry{DocumentId: p.doc.GetId(), Version: p.version.GetVersion(), Title: p.doc.GetTitle(),
			FirstPage: page, PageCount: p.version.GetPageCount()}
		heading := generalTitle
		if p.item != nil {
			e.AgendaItemId = p.item.GetId()
			heading = fmt.Sprintf("%d. %s", p.item.GetPosition(), p.item.GetTitle())
		}
		if i == 0 || entries[i-1].GetAgendaItemId() != e.GetAgendaItemId() {
			marks = append(marks, pdfcpu.Bookmark{Title: heading, PageFrom: int(page), Bold: true})
		}
		last := &marks[len(marks)-1]
		last.Kids = append(last.Kids, pdfcpu.Bookmark{Title: p.doc.GetTitle(), PageFrom: int(page)})
		entries = append(entries, e)
		page += p.version.GetPageCount()
	}
	return entries, marks
}

// bookKey names the book of exactly these papers, these versions and
// these headings: any change gives another name, and so another book.
func (s *Service) bookKey(meetingID string, entries []*documentsv1.BookEntry, marks []pdfcpu.Bookmark) string {
	h := sha256.New()
	for _, e := range entries {
		fmt.Fprintf(h, "%s\x00%d\x00%s\x00%s\x00", e.GetDocumentId(), e.GetVersion(), e.GetTitle(), e.GetAgendaItemId())
	}
	for _, m := range marks {
		fmt.Fprintf(h, "%s\x00", m.Title)
	}
	return s.d.Blob.Key("books/" + meetingID + "/" + hex.EncodeToString(h.Sum(nil)))
}

// bind returns the meeting book of papers, binding it first unless a book
// of exactly these papers exists.
func (s *Service) bind(ctx context.Context, actor string, m *meetingsv1.Meeting, papers []bookPaper) (string, *documentsv1.DocumentVersion, []*documentsv1.BookEntry, error) {
	entries, marks := bookEntries(papers)
	key := s.bookKey(m.GetId(), entries, marks)
	last := entries[len(entries)-1]
	book := &documentsv1.DocumentVersion{
		// The meeting's id stands for the document's: stamped copies of
		// the book are named and swept under it.
		DocumentId:  m.GetId(),
		FileName:    "so-tay-cuoc-hop - " + truncateRunes(m.GetTitle(), 150) + ".pdf",
		ContentType: typePDF.contentType,
		PageCount:   last.GetFirstPage() + last.GetPageCount() - 1,
		Preview:     documentsv1.Preview_PREVIEW_AVAILABLE,
	}
	found, err := s.boundBook(ctx, key, book)
	if err != nil {
		return "", nil, nil, rpcerr.FromStore(ctx, s.log, Name, "OpenMeetingBook", err)
	}
	if found {
		return key, book, entries, nil
	}
	// One binding per book however many tablets ask at once; the others
	// wait for it and share its answer.
	_, err, _ = s.books.Do(key, func() (any, error) {
		// Not the first asker's deadline: the others wait on this binding too.
		bctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), bindTimeout)
		defer cancel()
		return nil, s.bindOnce(bctx, actor, m, papers, entries, marks, key, book)
	})
	if err != nil {
		return "", nil, nil, err
	}
	if _, err := s.boundBook(ctx, key, book); err != nil {
		return "", nil, nil, rpcerr.FromStore(ctx, s.log, Name, "OpenMeetingBook", err)
	}
	s.dropOldBooks(ctx, m.GetId(), key)
	return key, book, entries, nil
}

// boundBook fills book's size, checksum and time from the recorded book at
// key, marking it used now; false when there is none yet.
func (s *Service) boundBook(ctx context.Context, key string, book *documentsv1.DocumentVersion) (bool, error) {
	var created time.Time
	err := s.d.Pool.QueryRow(ctx, `UPDATE meeting_books SET last_used_time = now() WHERE object_key = $1
		RETURNING size_bytes, sha256, create_time`, key).Scan(&book.SizeBytes, &book.Sha256, &created)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	book.CreateTime = timestamppb.New(created)
	return true, nil
}

// bindOnce binds the book at key (unless another request or instance has
// meanwhile), stores it and records it with its event.
func (s *Service) bindOnce(ctx context.Context, actor string, m *meetingsv1.Meeting, papers []bookPaper,
	entries []*documentsv1.BookEntry, marks []pdfcpu.Bookmark, key string, book *documentsv1.DocumentVersion) error {
	var probe documentsv1.DocumentVersion
	if found, err := s.boundBook(ctx, key, &probe); err != nil || found {
		return err
	}
	var total int64
	for _, p := range papers {
		total += p.version.GetSizeBytes()
	}
	if total > s.cfg.PDFInspectMaxBytes {
		return status.Errorf(codes.FailedPrecondition,
			"%s: the meeting's papers (%d MB) are too large to bind into one book; read them one by one", Name, total>>20)
	}
	data, err := s.bindPDF(ctx, papers, marks)
	if err != nil {
		return err
	}
	sum := sha256.Sum256(data)
	size, sha := int64(len(data)), hex.EncodeToString(sum[:])
	if err := s.putObject(ctx, key, bytes.NewReader(data), size, typePDF.contentType, sha); err != nil {
		return s.storageError(ctx, "put meeting book", err)
	}
	err = pgx.BeginFunc(ctx, s.d.Pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `
			INSERT INTO meeting_books (object_key, meeting_id, size_bytes, sha256, page_count) VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT (object_key) DO UPDATE SET size_bytes = EXCLUDED.size_bytes, sha256 = EXCLUDED.sha256`,
			key, m.GetId(), size, sha, book.GetPageCount())
		if err != nil || tag.RowsAffected() == 0 {
			return err
		}
		ids := make([]string, len(entries))
		for i, e := range entries {
			ids[i] = e.GetDocumentId()
		}
		meta := outbox.NewMeta(actor, m.GetId(), m.GetOrganizationId(), 0)
		meta.Audience = audience(m)
		ev := &documentsv1.MeetingBookReady{Meta: meta, MeetingId: m.GetId(), PageCount: book.GetPageCount(), DocumentIds: ids}
		return outbox.Enqueue(ctx, tx, eventSubject(m.GetId(), "book_ready"), ev)
	})
	if err != nil {
		return rpcerr.FromStore(ctx, s.log, Name, "OpenMeetingBook", err)
	}
	return nil
}

// bindPDF merges the papers' bytes in order and adds the bookmarks. It
// holds every paper in memory (pdfcpu does), which bind bounded, and
// takes the one PDF slot.
func (s *Service) bindPDF(ctx context.Context, papers []bookPaper, marks []pdfcpu.Bookmark) ([]byte, error) {
	// The slot first: the papers are read into memory only when it is this
	// binding's turn.
	select {
	case s.pdfSlot <- struct{}{}:
	case <-ctx.Done():
		return nil, status.FromContextError(ctx.Err()).Err()
	}
	defer func() { <-s.pdfSlot }()
	inputs := make([]io.ReadSeeker, 0, len(papers))
	for _, p := range papers {
		obj, err := s.d.Blob.Client().GetObject(ctx, s.d.Blob.Bucket(), p.key, minio.GetObjectOptions{})
		if err != nil {
			return nil, s.storageError(ctx, "get object", err)
		}
		b, err := io.ReadAll(obj)
		obj.Close()
		if err != nil {
			return nil, s.storageError(ctx, "get object", err)
		}
		inputs = append(inputs, bytes.NewReader(b))
	}
	data, err := mergeWithBookmarks(inputs, marks)
	if err != nil {
		s.log.WarnContext(ctx, "binding a meeting book failed", "err", err)
		return nil, status.Errorf(codes.FailedPrecondition, "%s: the papers could not be bound into one book; read them one by one", Name)
	}
	return data, nil
}

func mergeWithBookmarks(inputs []io.ReadSeeker, marks []pdfcpu.Bookmark) (data []byte, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("pdfcpu panicked: %v", p)
		}
	}()
	conf := model.NewDefaultConfiguration()
	conf.ValidationMode = model.ValidationRelaxed
	var merged bytes.Buffer
	if err := pdfapi.MergeRaw(inputs, &merged, false, conf); err != nil {
		return nil, fmt.Errorf("merge: %w", err)
	}
	var out bytes.Buffer
	// Replace: the papers' own outlines would point into the wrong pages.
	if err := pdfapi.AddBookmarks(bytes.NewReader(merged.Bytes()), &out, marks, true, conf); err != nil {
		return nil, fmt.Errorf("bookmarks: %w", err)
	}
	return out.Bytes(), nil
}

// dropOldBooks removes the meeting's other books unused for bookKeepFor:
// object first, then row, so no row names a missing object. Failures are
// logged; the next binding tries again.
func (s *Service) dropOldBooks(ctx context.Context, meetingID, keep string) {
	rows, err := s.d.Pool.Query(ctx, `SELECT object_key FROM meeting_books WHERE meeting_id = $1 AND object_key <> $2 AND last_used_time < $3`,
		meetingID, keep, time.Now().Add(-bookKeepFor))
	if err != nil {
		s.log.WarnContext(ctx, "listing old meeting books", "err", err)
		return
	}
	keys, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		s.log.WarnContext(ctx, "listing old meeting books", "err", err)
		return
	}
	for _, k := range keys {
		if err := s.removeBytes(ctx, k); err != nil {
			s.log.WarnContext(ctx, "removing an old meeting book", "object", k, "err", err)
			continue
		}
		if _, err := s.d.Pool.Exec(ctx, `DELETE FROM meeting_books WHERE object_key = $1`, k); err != nil {
			s.log.WarnContext(ctx, "forgetting an old meeting book", "object", k, "err", err)
		}
	}
}
