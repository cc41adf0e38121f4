package documents

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/google/uuid"
	"github.com/minio/minio-go/v7"
	pdfapi "github.com/pdfcpu/pdfcpu/pkg/api"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/types"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	documentsv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/documents/v1"
	"github.com/ecabinet/ecabinet/services/platform/identity"
	"github.com/ecabinet/ecabinet/services/platform/unaccent"
)

// defaultDownloadPolicy is the policy of a paper uploaded without one: a
// confidential paper that leaves the app carries its reader's name.
func defaultDownloadPolicy(c documentsv1.Classification) documentsv1.DownloadPolicy {
	if c == documentsv1.Classification_CLASSIFICATION_CONFIDENTIAL {
		return documentsv1.DownloadPolicy_DOWNLOAD_POLICY_WATERMARKED
	}
	return documentsv1.DownloadPolicy_DOWNLOAD_POLICY_ALLOWED
}

// stampable reports whether a version can be stamped: a PDF that opened
// and is small enough to hold in memory (see Config.PDFInspectMaxBytes).
func (s *Service) stampable(v *documentsv1.DocumentVersion) bool {
	return v.GetContentType() == typePDF.contentType && v.GetPreview() == documentsv1.Preview_PREVIEW_AVAILABLE &&
		v.GetSizeBytes() <= s.cfg.PDFInspectMaxBytes
}

// viewOnly is the refusal of a download the policy does not allow.
func viewOnly(id string) error {
	return status.Errorf(codes.PermissionDenied, "%s: document %s can be read in the app only; it cannot be downloaded", Name, id)
}

// stampedCopy writes a copy of the version at key with the reader's name
// and the time on every page, and returns the copy's key and its version
// (the copy's size and checksum). The copy is a short-lived object
// registered as a pending upload, so the sweeper removes it after
// staleAfter, long after the gateway has fetched it (contentURLTTL).
//
// The stamp is written without diacritics ("Nguyen Van An"): pdfcpu's
// built-in fonts cover Latin-1 only, and a stamp that identifies the
// reader matters more than one in perfect Vietnamese.
func (s *Service) stampedCopy(ctx context.Context, c identity.Claims, key string, v *documentsv1.DocumentVersion) (string, *documentsv1.DocumentVersion, error) {
	in, err := os.CreateTemp(s.cfg.UploadSpoolDir, spoolPattern)
	if err != nil {
		return "", nil, status.Errorf(codes.Internal, "%s: spool: %v", Name, err)
	}
	defer os.Remove(in.Name())
	defer in.Close()
	obj, err := s.d.Blob.Client().GetObject(ctx, s.d.Blob.Bucket(), key, minio.GetObjectOptions{})
	if err != nil {
		return "", nil, s.storageError(ctx, "get object", err)
	}
	_, err = io.Copy(in, obj)
	obj.Close()
	if err != nil {
		return "", nil, s.storageError(ctx, "get object", err)
	}

	out, err := os.CreateTemp(s.cfg.UploadSpoolDir, spoolPattern)
	if err != nil {
		return "", nil, status.Errorf(codes.Internal, "%s: spool: %v", Name, err)
	}
	defer os.Remove(out.Name())
	defer out.Close()
	text := fmt.Sprintf("%s - %s - ecabinet", unaccent.String(stampName(c)), time.Now().In(vietnam).Format("02/01/2006 15:04"))
	wm, err := pdfapi.TextWatermark(text, "fontname:Helvetica, points:10, position:bc, offset:0 12, rotation:0, scalefactor:1 abs, opacity:0.6, fillcolor:#b00000", true, false, types.POINTS)
	if err != nil {
		return "", nil, status.Errorf(codes.Internal, "%s: watermark: %v", Name, err)
	}
	select {
	case s.pdfSlot <- struct{}{}:
	case <-ctx.Done():
		return "", nil, status.FromContextError(ctx.Err()).Err()
	}
	err = stampPDF(in, out, wm)
	<-s.pdfSlot
	if err != nil {
		s.log.WarnContext(ctx, "stamping a download failed", "object", key, "err", err)
		return "", nil, status.Errorf(codes.FailedPrecondition, "%s: this paper could not be stamped with your name, so it cannot be downloaded; read it in the app", Name)
	}

	size, err := out.Seek(0, io.SeekEnd)
	if err != nil {
		return "", nil, status.Errorf(codes.Internal, "%s: spool: %v", Name, err)
	}
	h := sha256.New()
	if _, err := io.Copy(h, io.NewSectionReader(out, 0, size)); err != nil {
		return "", nil, status.Errorf(codes.Internal, "%s: spool: %v", Name, err)
	}
	sha := hex.EncodeToString(h.Sum(nil))
	copyKey := s.d.Blob.Key("stamped/" + v.GetDocumentId() + "/" + uuid.NewString())
	if err := s.addPending(ctx, copyKey, v.GetDocumentId()); err != nil {
		return "", nil, status.Errorf(codes.Internal, "%s: record stamped copy: %v", Name, err)
	}
	if err := s.putObject(ctx, copyKey, io.NewSectionReader(out, 0, size), size, typePDF.contentType, sha); err != nil {
		s.discard(ctx, copyKey)
		return "", nil, s.storageError(ctx, "put stamped copy", err)
	}
	stamped := proto.CloneOf(v)
	stamped.SizeBytes, stamped.Sha256 = size, sha
	return copyKey, stamped, nil
}

// stampName is how the stamp names the reader: their display name, else
// their id.
func stampName(c identity.Claims) string {
	if c.Name != "" {
		return c.Name
	}
	return c.Subject
}

// stampPDF writes in with wm on every page to out. pdfcpu on hostile
// input must not take the service down.
func stampPDF(in io.ReadSeeker, out io.Writer, wm *model.Watermark) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("pdfcpu panicked: %v", p)
		}
	}()
	if _, err := in.Seek(0, io.SeekStart); err != nil {
		return err
	}
	conf := model.NewDefaultConfiguration()
	conf.ValidationMode = model.ValidationRelaxed
	return pdfapi.AddWatermarks(in, out, nil, wm, conf)
}
