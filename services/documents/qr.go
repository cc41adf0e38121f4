package documents

import (
	"fmt"
	"net/url"
	"strings"

	qrcode "github.com/skip2/go-qrcode"

	documentsv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/documents/v1"
)

const (
	defaultQRPixels = 512
	minQRPixels     = 64
	maxQRPixels     = 2048
)

// appURL checks a base URL (scheme://host[:port], nothing else) and
// returns base + p.
func appURL(base, p string) (string, error) {
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
		u.User != nil || strings.Trim(u.Path, "/") != "" || u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("must be scheme://host[:port] with scheme http or https and no path")
	}
	return u.Scheme + "://" + u.Host + p, nil
}

// qrImage draws text as a QR code (medium error correction: survives a
// crease or a smudge on a printed invitation, still few modules for a
// short URL) in the requested format.
func qrImage(text string, format documentsv1.QRCodeFormat, px int) (contentType string, data []byte, err error) {
	q, err := qrcode.New(text, qrcode.Medium)
	if err != nil {
		return "", nil, fmt.Errorf("qr code: %w", err)
	}
	switch format {
	case documentsv1.QRCodeFormat_QR_CODE_FORMAT_PNG:
		data, err := q.PNG(px)
		if err != nil {
			return "", nil, fmt.Errorf("qr code png: %w", err)
		}
		return "image/png", data, nil
	case documentsv1.QRCodeFormat_QR_CODE_FORMAT_SVG:
		return "image/svg+xml", qrSVG(q.Bitmap()), nil
	}
	return "", nil, fmt.Errorf("qr code: unknown format %v", format)
}

// qrSVG renders a module bitmap (quiet zone included) as one path of dark
// runs per row: small, and sharp at any size on a wall screen.
func qrSVG(bits [][]bool) []byte {
	n := len(bits)
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" shape-rendering="crispEdges">`, n, n)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="#fff"/><path fill="#000" d="`, n, n)
	for y, row := range bits {
		for x := 0; x < len(row); {
			if !row[x] {
				x++
				continue
			}
			start := x
			for x < len(row) && row[x] {
				x++
			}
			fmt.Fprintf(&b, "M%d %dh%dv1h-%dz", start, y, x-start, x-start)
		}
	}
	b.WriteString(`"/></svg>` + "\n")
	return []byte(b.String())
}
