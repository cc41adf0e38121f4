package documents

import (
	"archive/zip"
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"path"
	"slices"
	"strings"

	documentsv1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/documents/v1"
)

// sniffLen is how much of a file's beginning identifies it.
const sniffLen = 4096

// fileType is an accepted kind of file.
type fileType struct {
	contentType string
	// exts are the names it may carry, canonical first.
	exts []string
	// preview for everything but PDFs, whose preview depends on the file.
	preview documentsv1.Preview
}

var (
	typePDF  = fileType{"application/pdf", []string{".pdf"}, documentsv1.Preview_PREVIEW_AVAILABLE}
	typePNG  = fileType{"image/png", []string{".png"}, documentsv1.Preview_PREVIEW_AVAILABLE}
	typeJPEG = fileType{"image/jpeg", []string{".jpg", ".jpeg"}, documentsv1.Preview_PREVIEW_AVAILABLE}
	typeDOCX = fileType{"application/vnd.openxmlformats-officedocument.wordprocessingml.document", []string{".docx"}, documentsv1.Preview_PREVIEW_NONE_OFFICE}
	typeXLSX = fileType{"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", []string{".xlsx"}, documentsv1.Preview_PREVIEW_NONE_OFFICE}
	typePPTX = fileType{"application/vnd.openxmlformats-officedocument.presentationml.presentation", []string{".pptx"}, documentsv1.Preview_PREVIEW_NONE_OFFICE}
	typeMP3  = fileType{"audio/mpeg", []string{".mp3"}, documentsv1.Preview_PREVIEW_AVAILABLE}
	typeM4A  = fileType{"audio/mp4", []string{".m4a", ".mp4"}, documentsv1.Preview_PREVIEW_AVAILABLE}
	typeMP4  = fileType{"video/mp4", []string{".mp4", ".m4v"}, documentsv1.Preview_PREVIEW_AVAILABLE}
	typeMOV  = fileType{"video/quicktime", []string{".mov"}, documentsv1.Preview_PREVIEW_AVAILABLE}
	typeWebM = fileType{"video/webm", []string{".webm", ".weba"}, documentsv1.Preview_PREVIEW_AVAILABLE}
	typeOgg  = fileType{"audio/ogg", []string{".ogg", ".oga", ".opus", ".ogv"}, documentsv1.Preview_PREVIEW_AVAILABLE}
	typeWAV  = fileType{"audio/wav", []string{".wav"}, documentsv1.Preview_PREVIEW_AVAILABLE}
	typeAAC  = fileType{"audio/aac", []string{".aac"}, documentsv1.Preview_PREVIEW_AVAILABLE}
)

var allTypes = []fileType{typePDF, typePNG, typeJPEG, typeDOCX, typeXLSX, typePPTX, typeMP3, typeM4A, typeMP4, typeMOV, typeWebM, typeOgg, typeWAV, typeAAC}

// knownExtension reports whether ext (lower-case, with the dot) belongs to
// an accepted type.
func knownExtension(ext string) bool {
	for _, t := range allTypes {
		if slices.Contains(t.exts, ext) {
			return true
		}
	}
	return false
}

// errUnsupported is a file whose bytes are none of the accepted types.
var errUnsupported = errors.New("unsupported file type")

// mp4Brands are the ftyp major brands of MP4 video and of the MPEG-4
// audio container.
var (
	mp4VideoBrands = []string{"isom", "iso2", "iso4", "iso5", "iso6", "mp41", "mp42", "avc1", "M4V ", "dash", "mmp4", "MSNV"}
	mp4AudioBrands = []string{"M4A ", "M4B "}
)

// sniff identifies a file from its first bytes (head: sniffLen bytes, or
// the whole file when it is shorter). zip reports a ZIP archive, which is
// an accepted type only if it is an Office Open XML document
// (inspectOOXML decides from the archive's directory). The name plays no
// part: an executable named .pdf is refused.
func sniff(head []byte) (t fileType, zipArchive bool, err error) {
	switch {
	// PDF readers accept the header anywhere in the first 1024 bytes
	// (some producers put a BOM or a line of junk before it).
	case bytes.Contains(head[:min(len(head), 1024)], []byte("%PDF-")):
		return typePDF, false, nil
	case bytes.HasPrefix(head, []byte("\x89PNG\r\n\x1a\n")):
		return typePNG, false, nil
	case bytes.HasPrefix(head, []byte{0xFF, 0xD8, 0xFF}):
		return typeJPEG, false, nil
	case bytes.HasPrefix(head, []byte("PK\x03\x04")):
		return fileType{}, true, nil
	case bytes.HasPrefix(head, []byte("ID3")):
		return typeMP3, false, nil
	case len(head) >= 12 && string(head[4:8]) == "ftyp":
		brand := string(head[8:12])
		switch {
		case slices.Contains(mp4AudioBrands, brand):
			return typeM4A, false, nil
		case slices.Contains(mp4VideoBrands, brand):
			return typeMP4, false, nil
		case brand == "qt  ":
			return typeMOV, false, nil
		}
	case bytes.HasPrefix(head, []byte{0x1A, 0x45, 0xDF, 0xA3}) && bytes.Contains(head[:min(len(head), 64)], []byte("webm")):
		return typeWebM, false, nil
	case bytes.HasPrefix(head, []byte("OggS")):
		return typeOgg, false, nil
	case len(head) >= 12 && string(head[0:4]) == "RIFF" && string(head[8:12]) == "WAVE":
		return typeWAV, false, nil
	case len(head) >= 2 && head[0] == 0xFF && (head[1] == 0xF1 || head[1] == 0xF9):
		return typeAAC, false, nil
	case len(head) >= 2 && head[0] == 0xFF && (head[1] == 0xFB || head[1] == 0xFA || head[1] == 0xF3 || head[1] == 0xF2):
		// An MP3 without ID3 tag starts with a frame header.
		return typeMP3, false, nil
	}
	return fileType{}, false, errUnsupported
}

// ooxmlMain maps the content type of an Office document's main part to
// the file type. Macro-enabled documents and templates have other main
// content types and are refused: papers are read, not run.
var ooxmlMain = map[string]fileType{
	"application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml":   typeDOCX,
	"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml":         typeXLSX,
	"application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml": typePPTX,
}

// maxContentTypesBytes bounds the [Content_Types].xml we read (they are a
// few KiB): a crafted archive cannot make us inflate much.
const maxContentTypesBytes = 1 << 20

// inspectOOXML tells a DOCX, XLSX or PPTX from any other ZIP archive by
// its central directory (at the end of the file, hence after the upload):
// [Content_Types].xml must name a main part of one of the three types, and
// that part must be in the archive.
func inspectOOXML(r io.ReaderAt, size int64) (fileType, error) {
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return fileType{}, fmt.Errorf("%w: a ZIP archive that cannot be read (%v)", errUnsupported, err)
	}
	entries := make(map[string]*zip.File, len(zr.File))
	for _, f := range zr.File {
		entries[f.Name] = f
	}
	ct, ok := entries["[Content_Types].xml"]
	if !ok {
		return fileType{}, fmt.Errorf("%w: a ZIP archive, not a Word, Excel or PowerPoint document", errUnsupported)
	}
	rc, err := ct.Open()
	if err != nil {
		return fileType{}, fmt.Errorf("%w: unreadable [Content_Types].xml (%v)", errUnsupported, err)
	}
	defer rc.Close()
	var types struct {
		Overrides []struct {
			PartName    string `xml:"PartName,attr"`
			ContentType string `xml:"ContentType,attr"`
		} `xml:"Override"`
	}
	if err := xml.NewDecoder(io.LimitReader(rc, maxContentTypesBytes)).Decode(&types); err != nil {
		return fileType{}, fmt.Errorf("%w: malformed [Content_Types].xml (%v)", errUnsupported, err)
	}
	for _, o := range types.Overrides {
		t, ok := ooxmlMain[o.ContentType]
		if !ok {
			continue
		}
		// Part names are absolute ("/word/document.xml"); ZIP names are not.
		if _, ok := entries[strings.TrimPrefix(path.Clean(o.PartName), "/")]; ok {
			return t, nil
		}
	}
	return fileType{}, fmt.Errorf("%w: an Office Open XML package that is not a plain Word, Excel or PowerPoint document (macro-enabled files and templates are not accepted)", errUnsupported)
}
