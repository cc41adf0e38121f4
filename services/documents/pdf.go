package documents

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"

	documentsv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/documents/v1"
)

func init() {
	// pdfcpu otherwise writes a configuration directory into the user's
	// home on first use; a service has no business there.
	model.ConfigPath = "disable"
}

// pdfInfo is what the service learns from a PDF.
type pdfInfo struct {
	pages   int32
	preview documentsv1.Preview
}

// inspectPDF counts a PDF's pages with pdfcpu (relaxed validation, as
// viewers are lenient too). A PDF that needs a password to open, or that
// pdfcpu cannot parse, is still accepted, marked "no preview": the paper
// is the minute-taker's official document and refusing it over a parser's
// disagreement could block a meeting, while the mark lets the app offer a
// download instead of its viewer and tells the uploader at once (the
// upload's answer carries it) so they can replace it. A PDF protected by
// an owner password only (common for official papers: printing or
// copying restricted) opens without one and is counted normally.
//
// pdfcpu holds every object of the file in memory while it reads, so the
// caller bounds the size it passes here and how many run at once.
func inspectPDF(ctx context.Context, log *slog.Logger, rs io.ReadSeeker) (info pdfInfo) {
	defer func() {
		// pdfcpu on hostile input must not take the service down.
		if p := recover(); p != nil {
			log.WarnContext(ctx, "pdf inspection panicked; marking the file as not previewable", "panic", fmt.Sprint(p))
			info = pdfInfo{preview: documentsv1.Preview_PREVIEW_NONE_CORRUPT}
		}
	}()
	conf := model.NewDefaultConfiguration()
	conf.ValidationMode = model.ValidationRelaxed
	pctx, err := pdfcpu.ReadWithContext(ctx, rs, conf)
	if err == nil {
		err = pctx.EnsurePageCount()
	}
	switch {
	case err != nil && (errors.Is(err, pdfcpu.ErrWrongPassword) || strings.Contains(err.Error(), "encryption")):
		return pdfInfo{preview: documentsv1.Preview_PREVIEW_NONE_ENCRYPTED}
	case err != nil:
		log.InfoContext(ctx, "pdf could not be parsed; marking it as not previewable", "err", err)
		return pdfInfo{preview: documentsv1.Preview_PREVIEW_NONE_CORRUPT}
	case pctx.PageCount <= 0:
		return pdfInfo{preview: documentsv1.Preview_PREVIEW_NONE_CORRUPT}
	}
	return pdfInfo{pages: int32(pctx.PageCount), preview: documentsv1.Preview_PREVIEW_AVAILABLE}
}
