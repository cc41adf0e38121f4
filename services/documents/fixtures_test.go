package documents

import (
	"archive/zip"
	"bytes"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"testing"

	pdfapi "github.com/pdfcpu/pdfcpu/pkg/api"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"
)

// Main part content types of Office Open XML packages.
const (
	ctDOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"
	ctXLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"
	ctPPTX = "application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml"
	ctDOCM = "application/vnd.ms-word.document.macroEnabled.main+xml"
)

// ooxml builds an Office Open XML package whose main part (partName, e.g.
// "word/document.xml") has the given content type. Office writes other
// entries first sometimes; so does this.
func ooxml(t *testing.T, mainType, partName string) []byte {
	t.Helper()
	return ooxmlWithEntry(t, mainType, partName, partName)
}

// ooxmlWithEntry is ooxml with the main part stored under entry, which
// need not be the name [Content_Types].xml gives.
func ooxmlWithEntry(t *testing.T, mainType, partName, entry string) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	for _, e := range []struct{ name, body string }{
		{"_rels/.rels", `<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"/>`},
		{"[Content_Types].xml", `<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">` +
			`<Default Extension="xml" ContentType="application/xml"/>` +
			`<Override PartName="/` + partName + `" ContentType="` + mainType + `"/></Types>`},
		{entry, `<?xml version="1.0"?><document>Nội dung</document>`},
	} {
		w, err := zw.Create(e.name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]byte(e.body)); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// plainZip is a ZIP archive that is no Office document.
func plainZip(t *testing.T) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	w, _ := zw.Create("readme.txt")
	_, _ = w.Write([]byte("xin chào"))
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func smallImage() image.Image {
	img := image.NewRGBA(image.Rect(0, 0, 8, 8))
	img.Set(1, 1, color.RGBA{R: 200, A: 255})
	return img
}

func pngBytes(t *testing.T) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, smallImage()); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func jpegBytes(t *testing.T) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := jpeg.Encode(&b, smallImage(), nil); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// Media files need only their first bytes right to be recognised.
var (
	mp3Bytes = append([]byte("ID3\x04\x00\x00\x00\x00\x00\x00"), bytes.Repeat([]byte{0xFF, 0xFB, 0x90, 0x64}, 64)...)
	mp4Bytes = append([]byte("\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2"), bytes.Repeat([]byte{0}, 256)...)
	m4aBytes = append([]byte("\x00\x00\x00\x18ftypM4A \x00\x00\x02\x00M4A isom"), bytes.Repeat([]byte{0}, 256)...)
	// An executable: "MZ", as Windows programs start.
	exeBytes = append([]byte("MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff"), bytes.Repeat([]byte{0}, 8192)...)
)

// encryptPDF encrypts a PDF (AES-256) with the given passwords; an empty
// user password makes a PDF that opens without one but is restricted.
func encryptPDF(t *testing.T, pdf []byte, userPW, ownerPW string) []byte {
	t.Helper()
	var out bytes.Buffer
	if err := pdfapi.Encrypt(bytes.NewReader(pdf), &out, model.NewAESConfiguration(userPW, ownerPW, 256)); err != nil {
		t.Fatalf("encrypt test PDF: %v", err)
	}
	return out.Bytes()
}
