package documents

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"
	"github.com/minio/minio-go/v7"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/proto"

	documentsv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/documents/v1"
	"github.com/ecabinet/ecabinet/services/platform/testenv"
)

func TestNewVersionKeepsTheOldOnes(t *testing.T) {
	w := newWorld(t)
	meeting, _ := w.cellMeeting()
	v1 := testenv.PDF(1, 0)
	d := w.upload(t, secretary, paper(meeting, "Dự thảo nghị quyết", "Dự thảo.pdf"), v1)
	v2 := testenv.PDF(2, 1000)
	d2, err := w.sendUpload(testenv.As(chair), newVersion(&documentsv1.NewVersion{DocumentId: d.GetId(), ExpectedVersion: 1, FileName: "Dự thảo (sửa).pdf"}), v2)
	if err != nil {
		t.Fatalf("new version: %v", err)
	}
	if d2.GetId() != d.GetId() || d2.GetVersion() != 2 || d2.GetSha256() != hexSHA(v2) || d2.GetPageCount() != 2 ||
		d2.GetFileName() != "Dự thảo (sửa).pdf" || d2.GetUploaderId() != chair.Subject || d2.GetTitle() != d.GetTitle() {
		t.Errorf("after replacement: %v", d2)
	}
	versions, err := w.client.ListDocumentVersions(testenv.As(attendee), &documentsv1.ListDocumentVersionsRequest{DocumentId: d.GetId()})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, v := range versions.GetVersions() {
		got = append(got, v.GetSha256())
	}
	if diff := cmp.Diff([]string{hexSHA(v1), hexSHA(v2)}, got); diff != "" {
		t.Errorf("versions' checksums (-want +got):\n%s", diff)
	}

	// A replacement based on version 1 is now stale.
	_, err = w.sendUpload(testenv.As(chair), newVersion(&documentsv1.NewVersion{DocumentId: d.GetId(), ExpectedVersion: 1, FileName: "cu.pdf"}), testenv.PDF(3, 0))
	st := testenv.Code(t, err, codes.Aborted)
	if !strings.Contains(st.Message(), "version 2") {
		t.Errorf("Aborted message %q does not give the current version", st.Message())
	}

	c := testenv.Consumer(t, w.js, w.stream)
	testenv.Next(t, c) // added
	msg := testenv.Next(t, c)
	var ev documentsv1.DocumentVersionAdded
	if err := proto.Unmarshal(msg.Data(), &ev); err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(msg.Subject(), meeting+".version_added") || ev.GetPreviousVersion() != 1 ||
		ev.GetDocument().GetVersion() != 2 || ev.GetMeta().GetAggregateVersion() != 2 {
		t.Errorf("event on %s: %v", msg.Subject(), &ev)
	}
	w.nothingLeft(t, 1)
}

// Two replacements race: the one that commits second was planned against
// version 1 and loses, and its object is removed.
func TestRacingReplacementLeavesNoObject(t *testing.T) {
	w := newWorld(t)
	meeting, _ := w.cellMeeting()
	d := w.upload(t, secretary, paper(meeting, "Tờ trình", "to-trinh.pdf"), testenv.PDF(1, 0))

	slow, err := w.client.UploadDocument(testenv.As(secretary))
	if err != nil {
		t.Fatal(err)
	}
	if err := slow.Send(newVersion(&documentsv1.NewVersion{DocumentId: d.GetId(), ExpectedVersion: 1, FileName: "a.pdf"})); err != nil {
		t.Fatal(err)
	}
	pdf := testenv.PDF(2, 0)
	if err := slow.Send(&documentsv1.UploadDocumentRequest{Part: &documentsv1.UploadDocumentRequest_Chunk{Chunk: pdf}}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.sendUpload(testenv.As(chair), newVersion(&documentsv1.NewVersion{DocumentId: d.GetId(), ExpectedVersion: 1, FileName: "b.pdf"}), testenv.PDF(3, 0)); err != nil {
		t.Fatalf("fast replacement: %v", err)
	}
	_, err = slow.CloseAndRecv()
	testenv.Code(t, err, codes.Aborted)
	w.nothingLeft(t, 1)
	if n := w.count(t, "document_versions"); n != 2 {
		t.Errorf("%d versions, want 2", n)
	}
}

func TestUploadRefusesBadInput(t *testing.T) {
	w := newWorldWith(t, worldOptions{cfg: Config{UploadMaxBytes: 1 << 20}})
	meeting, _ := w.cellMeeting()
	big := testenv.PDF(1, 2<<20)
	for _, tc := range []struct {
		name string
		nd   *documentsv1.NewDocument
		data []byte
		want map[string]string // field -> reason
	}{
		{"zero bytes", paper(meeting, "Trống", "trong.pdf"), nil, map[string]string{"chunk": ReasonEmptyFile}},
		{"executable renamed .pdf", paper(meeting, "Virus", "bao-cao.pdf"), exeBytes, map[string]string{"chunk": ReasonUnsupportedMediaType}},
		{"short executable", paper(meeting, "Virus", "bao-cao.pdf"), exeBytes[:100], map[string]string{"chunk": ReasonUnsupportedMediaType}},
		{"zip that is no Office document", paper(meeting, "Nén", "tai-lieu.docx"), plainZip(t), map[string]string{"chunk": ReasonUnsupportedMediaType}},
		{"macro-enabled Word", paper(meeting, "Macro", "macro.docx"), ooxml(t, ctDOCM, "word/document.xml"), map[string]string{"chunk": ReasonUnsupportedMediaType}},
		{"html", paper(meeting, "Trang", "trang.pdf"), []byte("<html><script>alert(1)</script></html>"), map[string]string{"chunk": ReasonUnsupportedMediaType}},
		{"over the limit, streamed", paper(meeting, "Lớn", "lon.pdf"), big, map[string]string{"chunk": ReasonFileTooLarge}},
		{"over the limit, announced", func() *documentsv1.NewDocument {
			nd := paper(meeting, "Lớn", "lon.pdf")
			nd.DeclaredSize = int64(len(big))
			return nd
		}(), big, map[string]string{"new_document.declared_size": ReasonFileTooLarge}},
		{"fewer bytes than announced", func() *documentsv1.NewDocument {
			nd := paper(meeting, "Thiếu", "thieu.pdf")
			nd.DeclaredSize = 5000
			return nd
		}(), testenv.PDF(1, 0), map[string]string{"chunk": ReasonIncompleteFile}},
		{"bad metadata", &documentsv1.NewDocument{MeetingId: meeting, Title: " \t", Kind: 99, FileName: "../"}, testenv.PDF(1, 0), map[string]string{
			"new_document.title": "REQUIRED", "new_document.kind": "UNKNOWN_VALUE",
			"new_document.classification": "REQUIRED", "new_document.file_name": "REQUIRED",
		}},
		{"no meeting", &documentsv1.NewDocument{MeetingId: "x", Title: "T", Kind: 1, Classification: 2, FileName: "a.pdf", AgendaItemId: "y"}, testenv.PDF(1, 0), map[string]string{
			"new_document.meeting_id": "INVALID_FORMAT", "new_document.agenda_item_id": "INVALID_FORMAT",
		}},
		{"agenda item of another meeting", func() *documentsv1.NewDocument {
			nd := paper(meeting, "Lạc", "lac.pdf")
			nd.AgendaItemId = uuid.NewString()
			return nd
		}(), testenv.PDF(1, 0), map[string]string{"new_document.agenda_item_id": ReasonNotInMeeting}},
	} {
		_, err := w.sendUpload(testenv.As(secretary), newDocument(tc.nd), tc.data)
		if diff := cmp.Diff(tc.want, testenv.ViolationReasons(t, err)); diff != "" {
			t.Errorf("%s: violations (-want +got):\n%s", tc.name, diff)
		}
	}
	_, err := w.sendUpload(testenv.As(secretary), &documentsv1.UploadDocumentRequest{Part: &documentsv1.UploadDocumentRequest_Chunk{Chunk: []byte("%PDF-")}}, nil)
	testenv.Code(t, err, codes.InvalidArgument)
	w.nothingLeft(t, 0)
	if n := testenv.StreamMsgs(t, w.js, w.stream); n != 0 {
		t.Errorf("%d events for refused uploads", n)
	}
}

// Recordings have a limit of their own (a meeting's camera passes the
// papers' limit in minutes): a recording of a size refused for a paper is
// taken, and one over its own limit is refused like any file.
func TestRecordingsHaveTheirOwnLimit(t *testing.T) {
	w := newWorldWith(t, worldOptions{cfg: Config{UploadMaxBytes: 1 << 20, RecordingMaxBytes: 3 << 20}})
	meeting, _ := w.cellMeeting()
	webm := append([]byte{0x1A, 0x45, 0xDF, 0xA3, 0x9F, 0x42, 0x86, 0x81, 0x01, 0x42, 0x82, 0x84}, []byte("webm\x42\x87")...)
	recording := func(size int, declared bool) *documentsv1.UploadDocumentRequest {
		nd := paper(meeting, "Bản ghi cuộc họp", "ban-ghi.webm")
		nd.Kind = documentsv1.DocumentKind_DOCUMENT_KIND_RECORDING
		if declared {
			nd.DeclaredSize = int64(size)
		}
		return newDocument(nd)
	}
	padded := func(size int) []byte { return append(bytes.Clone(webm), make([]byte, size-len(webm))...) }

	d, err := w.sendUpload(testenv.As(secretary), recording(2<<20, true), padded(2<<20))
	if err != nil || d.GetKind() != documentsv1.DocumentKind_DOCUMENT_KIND_RECORDING || d.GetSizeBytes() != 2<<20 {
		t.Fatalf("a 2 MiB recording: %v (%v)", d, err)
	}
	_, err = w.sendUpload(testenv.As(secretary), newDocument(paper(meeting, "Lớn", "lon.pdf")), testenv.PDF(1, 2<<20))
	if diff := cmp.Diff(map[string]string{"chunk": ReasonFileTooLarge}, testenv.ViolationReasons(t, err)); diff != "" {
		t.Errorf("a 2 MiB paper (-want +got):\n%s", diff)
	}
	_, err = w.sendUpload(testenv.As(secretary), recording(4<<20, true), padded(4<<20))
	if diff := cmp.Diff(map[string]string{"new_document.declared_size": ReasonFileTooLarge}, testenv.ViolationReasons(t, err)); diff != "" {
		t.Errorf("a 4 MiB recording announced (-want +got):\n%s", diff)
	}
	_, err = w.sendUpload(testenv.As(secretary), recording(4<<20, false), padded(4<<20))
	if diff := cmp.Diff(map[string]string{"chunk": ReasonFileTooLarge}, testenv.ViolationReasons(t, err)); diff != "" {
		t.Errorf("a 4 MiB recording streamed (-want +got):\n%s", diff)
	}
	// A new version of the recording is a recording too.
	_, err = w.sendUpload(testenv.As(secretary), newVersion(&documentsv1.NewVersion{DocumentId: d.GetId(), FileName: "ban-ghi-2.webm"}), padded(2<<20))
	if err != nil {
		t.Errorf("a 2 MiB new version of the recording: %v", err)
	}
	w.nothingLeft(t, 1)
}

func TestUploadPermissions(t *testing.T) {
	w := newWorld(t)
	meeting, _ := w.cellMeeting()
	_, err := w.sendUpload(testenv.As(attendee), newDocument(paper(meeting, "Của tôi", "a.pdf")), testenv.PDF(1, 0))
	testenv.Code(t, err, codes.PermissionDenied)
	_, err = w.sendUpload(testenv.As(bystander), newDocument(paper(meeting, "Của tôi", "a.pdf")), testenv.PDF(1, 0))
	testenv.Code(t, err, codes.PermissionDenied)
	_, err = w.sendUpload(testenv.As(otherCell), newDocument(paper(meeting, "Chi bộ khác", "a.pdf")), testenv.PDF(1, 0))
	testenv.Code(t, err, codes.NotFound)
	_, err = w.sendUpload(testenv.As(adminA), newDocument(paper(uuid.NewString(), "Không có", "a.pdf")), testenv.PDF(1, 0))
	testenv.Code(t, err, codes.NotFound)

	// An administrator of the organisation may, without taking part.
	d := w.upload(t, adminA, paper(meeting, "Của quản trị", "qt.pdf"), testenv.PDF(1, 0))
	_, err = w.sendUpload(testenv.As(attendee), newVersion(&documentsv1.NewVersion{DocumentId: d.GetId(), FileName: "b.pdf"}), testenv.PDF(1, 0))
	testenv.Code(t, err, codes.PermissionDenied)
	_, err = w.sendUpload(testenv.As(otherCell), newVersion(&documentsv1.NewVersion{DocumentId: d.GetId(), FileName: "b.pdf"}), testenv.PDF(1, 0))
	testenv.Code(t, err, codes.NotFound)
	w.nothingLeft(t, 1)
}

func TestUploadAcceptsOfficeImagesAndMedia(t *testing.T) {
	w := newWorld(t)
	meeting, _ := w.cellMeeting()
	for _, tc := range []struct {
		name, fileName string
		data           []byte
		wantType       string
		wantName       string
		wantPreview    documentsv1.Preview
	}{
		{"docx", "Tờ trình.docx", ooxml(t, ctDOCX, "word/document.xml"), typeDOCX.contentType, "Tờ trình.docx", documentsv1.Preview_PREVIEW_NONE_OFFICE},
		{"xlsx", "Bảng.xlsx", ooxml(t, ctXLSX, "xl/workbook.xml"), typeXLSX.contentType, "Bảng.xlsx", documentsv1.Preview_PREVIEW_NONE_OFFICE},
		{"pptx", "Trình chiếu", ooxml(t, ctPPTX, "ppt/presentation.xml"), typePPTX.contentType, "Trình chiếu.pptx", documentsv1.Preview_PREVIEW_NONE_OFFICE},
		{"png", "ảnh.png", pngBytes(t), "image/png", "ảnh.png", documentsv1.Preview_PREVIEW_AVAILABLE},
		{"jpeg named png", "ảnh.png", jpegBytes(t), "image/jpeg", "ảnh.jpg", documentsv1.Preview_PREVIEW_AVAILABLE},
		{"mp3", "ghi âm.mp3", mp3Bytes, "audio/mpeg", "ghi âm.mp3", documentsv1.Preview_PREVIEW_AVAILABLE},
		{"mp4", "video.mp4", mp4Bytes, "video/mp4", "video.mp4", documentsv1.Preview_PREVIEW_AVAILABLE},
		{"pdf named docx", "Báo cáo.docx", testenv.PDF(1, 0), "application/pdf", "Báo cáo.pdf", documentsv1.Preview_PREVIEW_AVAILABLE},
	} {
		d := w.upload(t, secretary, paper(meeting, tc.name, tc.fileName), tc.data)
		if d.GetContentType() != tc.wantType || d.GetFileName() != tc.wantName || d.GetPreview() != tc.wantPreview {
			t.Errorf("%s: type %q, name %q, preview %v; want %q, %q, %v", tc.name, d.GetContentType(), d.GetFileName(), d.GetPreview(), tc.wantType, tc.wantName, tc.wantPreview)
		}
	}
}

// A path, control characters and 300 characters in a file name: stored
// cleaned, with its Vietnamese letters.
func TestUploadCleansFileNames(t *testing.T) {
	w := newWorld(t)
	meeting, _ := w.cellMeeting()
	long := strings.Repeat("Báo cáo tổng kết công tác Đảng ", 10) + ".pdf"
	for in, want := range map[string]string{
		"../../../etc/Kế hoạch.pdf":    "Kế hoạch.pdf",
		"Kết\x00 luận\x07\r\n.pdf":     "Kết luận.pdf",
		`..\..\Windows\Quyết định.pdf`: "Quyết định.pdf",
	} {
		if d := w.upload(t, secretary, paper(meeting, "Tên tệp", in), testenv.PDF(1, 0)); d.GetFileName() != want {
			t.Errorf("file name %q stored as %q, want %q", in, d.GetFileName(), want)
		}
	}
	d := w.upload(t, secretary, paper(meeting, "Tên dài", long), testenv.PDF(1, 0))
	if n := len(d.GetFileName()); n > 255 || !utf8.ValidString(d.GetFileName()) || !strings.HasPrefix(d.GetFileName(), "Báo cáo tổng kết") || !strings.HasSuffix(d.GetFileName(), ".pdf") {
		t.Errorf("300-character name stored as %q (%d bytes)", d.GetFileName(), n)
	}
}

// A PDF that needs a password, or that cannot be parsed, is kept (and can
// be downloaded) but marked as having no preview.
func TestCorruptAndEncryptedPDFsAreKeptWithoutPreview(t *testing.T) {
	w := newWorld(t)
	meeting, _ := w.cellMeeting()
	valid := testenv.PDF(4, 0)
	for _, tc := range []struct {
		name  string
		data  []byte
		want  documentsv1.Preview
		pages int32
	}{
		{"password to open", encryptPDF(t, valid, "mật-khẩu", "chủ"), documentsv1.Preview_PREVIEW_NONE_ENCRYPTED, 0},
		{"restricted only", encryptPDF(t, valid, "", "chủ"), documentsv1.Preview_PREVIEW_AVAILABLE, 4},
		{"corrupt", append([]byte("%PDF-1.7\n1 0 obj\n<< /Type /Catalog"), bytes.Repeat([]byte{0xAB}, 3000)...), documentsv1.Preview_PREVIEW_NONE_CORRUPT, 0},
	} {
		d := w.upload(t, secretary, paper(meeting, tc.name, "tl.pdf"), tc.data)
		if d.GetContentType() != "application/pdf" || d.GetPreview() != tc.want || d.GetPageCount() != tc.pages {
			t.Errorf("%s: %s, preview %v, %d pages; want application/pdf, %v, %d", tc.name, d.GetContentType(), d.GetPreview(), d.GetPageCount(), tc.want, tc.pages)
		}
		if _, err := w.client.OpenDocumentContent(testenv.As(attendee), &documentsv1.OpenDocumentContentRequest{DocumentId: d.GetId(), Access: documentsv1.AccessKind_ACCESS_KIND_DOWNLOAD}); err != nil {
			t.Errorf("%s: cannot be downloaded: %v", tc.name, err)
		}
	}
}

// PDFs above PDFInspectMaxBytes are stored without being parsed.
func TestLargePDFsAreNotParsed(t *testing.T) {
	w := newWorldWith(t, worldOptions{cfg: Config{PDFInspectMaxBytes: 10 << 10}})
	meeting, _ := w.cellMeeting()
	d := w.upload(t, secretary, paper(meeting, "Lớn", "lon.pdf"), testenv.PDF(2, 20<<10))
	if d.GetPageCount() != 0 || d.GetPreview() != documentsv1.Preview_PREVIEW_AVAILABLE {
		t.Errorf("large PDF: %d pages, %v; want 0 (not counted), PREVIEW_AVAILABLE", d.GetPageCount(), d.GetPreview())
	}
}

// The client goes away in the middle of the upload: nothing is left.
func TestUploadCancelledMidStreamLeavesNothing(t *testing.T) {
	w := newWorld(t)
	meeting, _ := w.cellMeeting()
	ctx, cancel := context.WithCancel(testenv.As(secretary))
	defer cancel()
	stream, err := w.client.UploadDocument(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := stream.Send(newDocument(paper(meeting, "Dở dang", "do-dang.pdf"))); err != nil {
		t.Fatal(err)
	}
	pdf := testenv.PDF(1, 4<<20)
	for off := 0; off < len(pdf)/2; off += uploadChunk {
		if err := stream.Send(&documentsv1.UploadDocumentRequest{Part: &documentsv1.UploadDocumentRequest_Chunk{Chunk: pdf[off : off+uploadChunk]}}); err != nil {
			t.Fatal(err)
		}
	}
	// Half the file is on the server's disk when the client disappears.
	testenv.Eventually(t, waitLimit, func() error {
		entries, err := os.ReadDir(w.spool)
		if err == nil && len(entries) == 0 {
			err = os.ErrNotExist
		}
		return err
	})
	cancel()
	_, err = stream.CloseAndRecv()
	testenv.Code(t, err, codes.Canceled)
	w.nothingLeft(t, 0)
}

// Object storage down before the upload: refused at once, nothing made.
func TestUploadWithObjectStorageDown(t *testing.T) {
	direct := testenv.Blob(t)
	proxy := newFaultProxy(t, os.Getenv("S3_ENDPOINT"))
	w := newWorldWith(t, worldOptions{store: storeBehind(t, direct, proxy.addr), inspect: direct})
	meeting, _ := w.cellMeeting()
	proxy.Block()
	_, err := w.sendUpload(testenv.As(secretary), newDocument(paper(meeting, "Khi hỏng", "hong.pdf")), testenv.PDF(1, 0))
	testenv.Code(t, err, codes.Unavailable)
	w.nothingLeft(t, 0)

	proxy.Unblock()
	w.upload(t, secretary, paper(meeting, "Khi đã sửa", "sua.pdf"), testenv.PDF(1, 0))
	w.nothingLeft(t, 1)
}

// Object storage dies while the object is being written: the upload fails
// with Unavailable, no document exists, and what object storage holds of
// it (parts of a multipart upload) is named by a pending row that the
// sweeper removes once storage is back.
func TestObjectStorageFailsDuringWrite(t *testing.T) {
	direct := testenv.Blob(t)
	proxy := newFaultProxy(t, os.Getenv("S3_ENDPOINT"))
	w := newWorldWith(t, worldOptions{store: storeBehind(t, direct, proxy.addr), inspect: direct})
	meeting, _ := w.cellMeeting()
	pdf := testenv.PDF(1, 40<<20) // several 16 MiB parts

	stream, err := w.client.UploadDocument(testenv.As(secretary))
	if err != nil {
		t.Fatal(err)
	}
	if err := stream.Send(newDocument(paper(meeting, "Giữa chừng", "giua-chung.pdf"))); err != nil {
		t.Fatal(err)
	}
	for off := 0; off < len(pdf); off += 1 << 20 {
		if err := stream.Send(&documentsv1.UploadDocumentRequest{Part: &documentsv1.UploadDocumentRequest_Chunk{Chunk: pdf[off:min(off+1<<20, len(pdf))]}}); err != nil {
			t.Fatal(err)
		}
	}
	// The file has reached the service; object storage accepts the next
	// 20 MB (the first part and then some) and then goes away.
	proxy.CutAfter(20 << 20)
	_, err = stream.CloseAndRecv()
	testenv.Code(t, err, codes.Unavailable)
	if n := w.count(t, "documents") + w.count(t, "document_versions"); n != 0 {
		t.Fatalf("%d rows after a failed write", n)
	}
	// Cleaning up needed the storage that had just gone: the pending row
	// still names what may be there.
	if n := w.count(t, "pending_uploads"); n != 1 {
		t.Errorf("%d pending uploads while storage is down, want 1", n)
	}

	proxy.Unblock()
	if _, err := w.svc.sweep(context.Background(), 0); err != nil {
		t.Fatalf("sweep: %v", err)
	}
	w.nothingLeft(t, 0)
	if n := testenv.StreamMsgs(t, w.js, w.stream); n != 0 {
		t.Errorf("%d events for a failed upload", n)
	}
}

func TestSweepRemovesAbandonedUploads(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	doc := uuid.NewString()

	// A whole object whose upload never committed, and the parts of an
	// unfinished multipart upload.
	whole, parts, fresh := w.svc.objectKey(doc, "a"), w.svc.objectKey(doc, "b"), w.svc.objectKey(doc, "c")
	for _, key := range []string{whole, parts, fresh} {
		if err := w.svc.addPending(ctx, key, doc); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := w.blob.Client().PutObject(ctx, w.blob.Bucket(), whole, bytes.NewReader([]byte("%PDF-")), 5, minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	core := minio.Core{Client: w.blob.Client()}
	uploadID, err := core.NewMultipartUpload(ctx, w.blob.Bucket(), parts, minio.PutObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := core.PutObjectPart(ctx, w.blob.Bucket(), parts, uploadID, 1, bytes.NewReader(make([]byte, 5<<20)), 5<<20, minio.PutObjectPartOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.pool.Exec(ctx, `UPDATE pending_uploads SET create_time = now() - interval '1 hour' WHERE object_key <> $1`, fresh); err != nil {
		t.Fatal(err)
	}

	n, err := w.svc.sweep(ctx, staleAfter)
	if err != nil || n != 2 {
		t.Fatalf("sweep = %d, %v; want 2 removed", n, err)
	}
	keys, incomplete := w.objects(t)
	if len(keys) != 0 || len(incomplete) != 0 {
		t.Errorf("after sweeping: objects %v, unfinished uploads %v", keys, incomplete)
	}
	var left []string
	rows, _ := w.pool.Query(ctx, `SELECT object_key FROM pending_uploads`)
	for rows.Next() {
		var k string
		_ = rows.Scan(&k)
		left = append(left, k)
	}
	if diff := cmp.Diff([]string{fresh}, left); diff != "" {
		t.Errorf("pending uploads after sweeping (-want +got):\n%s", diff)
	}

	// An upload whose pending row the sweeper took cannot commit.
	_, err = w.svc.commit(ctx, &upload{documentID: doc, objectKey: whole, newDocument: &documentsv1.Document{}, version: &documentsv1.DocumentVersion{}})
	if err != errSwept {
		t.Errorf("commit after the sweep = %v, want errSwept", err)
	}
}

// Spool files a dead process left behind are removed; live ones are not.
func TestSweepSpool(t *testing.T) {
	w := newWorld(t)
	old, fresh, other := filepath.Join(w.spool, "ecabinet-upload-1"), filepath.Join(w.spool, "ecabinet-upload-2"), filepath.Join(w.spool, "notes.txt")
	for _, f := range []string{old, fresh, other} {
		if err := os.WriteFile(f, []byte("%PDF-"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	long := time.Now().Add(-time.Hour)
	for _, f := range []string{old, other} {
		if err := os.Chtimes(f, long, long); err != nil {
			t.Fatal(err)
		}
	}
	w.svc.sweepSpool(staleAfter)
	for f, want := range map[string]bool{old: false, fresh: true, other: true} {
		if _, err := os.Stat(f); (err == nil) != want {
			t.Errorf("%s exists = %v, want %v", filepath.Base(f), err == nil, want)
		}
	}
}
