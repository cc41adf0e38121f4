package documents

import (
	"bytes"
	"strings"
	"testing"

	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/types"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	documentsv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/documents/v1"
	"github.com/ecabinet/ecabinet/services/platform/identity"
	"github.com/ecabinet/ecabinet/services/platform/testenv"
)

// pdfStreams reads a PDF and returns its page count and the decoded
// content of all its streams, where a stamp's text lives.
func pdfStreams(t *testing.T, b []byte) (int, string) {
	t.Helper()
	ctx, err := pdfcpu.ReadWithContext(t.Context(), bytes.NewReader(b), model.NewDefaultConfiguration())
	if err != nil {
		t.Fatalf("not a readable PDF: %v", err)
	}
	if err := ctx.EnsurePageCount(); err != nil {
		t.Fatal(err)
	}
	var all strings.Builder
	for _, e := range ctx.XRefTable.Table {
		if e == nil || e.Object == nil {
			continue
		}
		if sd, ok := e.Object.(types.StreamDict); ok {
			if err := sd.Decode(); err == nil {
				all.Write(sd.Content)
			}
		}
	}
	return ctx.PageCount, all.String()
}

func (w *world) download(t *testing.T, c identity.Claims, id string) (*documentsv1.OpenDocumentContentResponse, []byte, error) {
	t.Helper()
	resp, err := w.client.OpenDocumentContent(testenv.As(c), &documentsv1.OpenDocumentContentRequest{DocumentId: id, Access: documentsv1.AccessKind_ACCESS_KIND_DOWNLOAD})
	if err != nil {
		return nil, nil, err
	}
	code, body := fetch(t, resp.GetUrl(), "")
	if code != 200 {
		t.Fatalf("GET the download's URL: %d", code)
	}
	return resp, body, nil
}

func TestDownloadPolicyDefaults(t *testing.T) {
	w := newWorld(t)
	meeting, _ := w.cellMeeting()
	for _, tc := range []struct {
		class documentsv1.Classification
		asked documentsv1.DownloadPolicy
		want  documentsv1.DownloadPolicy
	}{
		{documentsv1.Classification_CLASSIFICATION_INTERNAL, 0, documentsv1.DownloadPolicy_DOWNLOAD_POLICY_ALLOWED},
		{documentsv1.Classification_CLASSIFICATION_CONFIDENTIAL, 0, documentsv1.DownloadPolicy_DOWNLOAD_POLICY_WATERMARKED},
		{documentsv1.Classification_CLASSIFICATION_CONFIDENTIAL, documentsv1.DownloadPolicy_DOWNLOAD_POLICY_ALLOWED, documentsv1.DownloadPolicy_DOWNLOAD_POLICY_ALLOWED},
		{documentsv1.Classification_CLASSIFICATION_PUBLIC, documentsv1.DownloadPolicy_DOWNLOAD_POLICY_VIEW_ONLY, documentsv1.DownloadPolicy_DOWNLOAD_POLICY_VIEW_ONLY},
	} {
		nd := paper(meeting, "Tờ trình", "to-trinh.pdf")
		nd.Classification, nd.DownloadPolicy = tc.class, tc.asked
		d := w.upload(t, secretary, nd, testenv.PDF(1, 0))
		if d.GetDownloadPolicy() != tc.want {
			t.Errorf("%v paper asking %v: policy %v, want %v", tc.class, tc.asked, d.GetDownloadPolicy(), tc.want)
		}
	}
	nd := paper(meeting, "Tờ trình", "to-trinh.pdf")
	nd.DownloadPolicy = 9
	_, err := w.sendUpload(testenv.As(secretary), newDocument(nd), testenv.PDF(1, 0))
	if got := testenv.ViolatedFields(t, err); len(got) != 1 || got[0] != "new_document.download_policy" {
		t.Errorf("unknown policy: violations %v, want new_document.download_policy", got)
	}
}

func TestViewOnlyPaperCannotBeDownloaded(t *testing.T) {
	w := newWorld(t)
	meeting, _ := w.cellMeeting()
	nd := paper(meeting, "Dự thảo", "du-thao.pdf")
	nd.DownloadPolicy = documentsv1.DownloadPolicy_DOWNLOAD_POLICY_VIEW_ONLY
	d := w.upload(t, secretary, nd, testenv.PDF(2, 0))

	if _, _, err := w.download(t, attendee, d.GetId()); status.Code(err) != codes.PermissionDenied {
		t.Errorf("download of a view-only paper: %v, want PermissionDenied", err)
	}
	// Reading it in the app still works.
	if _, err := w.client.OpenDocumentContent(testenv.As(attendee), &documentsv1.OpenDocumentContentRequest{DocumentId: d.GetId(), Access: documentsv1.AccessKind_ACCESS_KIND_VIEW}); err != nil {
		t.Errorf("view of a view-only paper: %v", err)
	}
}

func TestConfidentialDownloadIsStampedWithTheReader(t *testing.T) {
	w := newWorld(t)
	meeting, _ := w.cellMeeting()
	pdf := testenv.PDF(3, 0)
	nd := paper(meeting, "Phương án nhân sự", "nhan-su.pdf")
	nd.Classification = documentsv1.Classification_CLASSIFICATION_CONFIDENTIAL
	d := w.upload(t, secretary, nd, pdf)

	resp, body, err := w.download(t, attendee, d.GetId())
	if err != nil {
		t.Fatalf("download: %v", err)
	}
	if bytes.Equal(body, pdf) {
		t.Fatal("the download is the original file, not a stamped copy")
	}
	if resp.GetVersion().GetSizeBytes() != int64(len(body)) || resp.GetVersion().GetSha256() != hexSHA(body) {
		t.Errorf("version says %d bytes %s; the copy has %d bytes %s", resp.GetVersion().GetSizeBytes(), resp.GetVersion().GetSha256(), len(body), hexSHA(body))
	}
	pages, streams := pdfStreams(t, body)
	if pages != 3 {
		t.Errorf("stamped copy has %d pages, want 3", pages)
	}
	// The reader's name without diacritics ("Đồng chí dang-vien-1").
	if !strings.Contains(streams, "Dong chi dang-vien-1") {
		t.Errorf("the stamped copy does not name the reader")
	}
	_, other, err := w.download(t, chair, d.GetId())
	if err != nil {
		t.Fatalf("download as the chair: %v", err)
	}
	if _, s := pdfStreams(t, other); !strings.Contains(s, "Dong chi chu-tri") || strings.Contains(s, "dang-vien-1") {
		t.Errorf("the chair's copy is not stamped with the chair's name alone")
	}
	// The stored version is untouched, and the copies are short-lived
	// objects the sweeper will remove.
	if n := w.count(t, "pending_uploads"); n != 2 {
		t.Errorf("%d pending objects, want the 2 stamped copies", n)
	}
	if n, err := w.svc.sweep(t.Context(), 0); err != nil || n != 2 {
		t.Errorf("sweep removed %d (%v), want the 2 copies", n, err)
	}
	w.nothingLeft(t, 1)
}

func TestUnstampableConfidentialFileIsViewOnly(t *testing.T) {
	w := newWorld(t)
	meeting, _ := w.cellMeeting()
	nd := paper(meeting, "Ảnh", "anh.png")
	nd.Classification = documentsv1.Classification_CLASSIFICATION_CONFIDENTIAL
	d := w.upload(t, secretary, nd, pngBytes(t))
	if _, _, err := w.download(t, attendee, d.GetId()); status.Code(err) != codes.PermissionDenied {
		t.Errorf("download of a confidential image (cannot be stamped): %v, want PermissionDenied", err)
	}
}
