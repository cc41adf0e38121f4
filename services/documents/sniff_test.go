package documents

import (
	"bytes"
	"errors"
	"github.com/ecabinet/ecabinet/services/platform/testenv"
	"testing"
)

func head(b []byte) []byte { return b[:min(len(b), sniffLen)] }

func TestSniff(t *testing.T) {
	for _, tc := range []struct {
		name string
		data []byte
		want fileType
		zip  bool
	}{
		{"pdf", testenv.PDF(1, 0), typePDF, false},
		{"pdf after junk", append([]byte("\xef\xbb\xbf\r\n"), testenv.PDF(1, 0)...), typePDF, false},
		{"png", pngBytes(t), typePNG, false},
		{"jpeg", jpegBytes(t), typeJPEG, false},
		{"zip", ooxml(t, ctDOCX, "word/document.xml"), fileType{}, true},
		{"mp3", mp3Bytes, typeMP3, false},
		{"mp3 without tag", []byte{0xFF, 0xFB, 0x90, 0x64, 0, 0}, typeMP3, false},
		{"mp4", mp4Bytes, typeMP4, false},
		{"m4a", m4aBytes, typeM4A, false},
		{"webm", append([]byte{0x1A, 0x45, 0xDF, 0xA3, 0x9F, 0x42, 0x86, 0x81, 0x01, 0x42, 0x82, 0x84}, []byte("webm\x42\x87")...), typeWebM, false},
		{"ogg", []byte("OggS\x00\x02\x00\x00"), typeOgg, false},
		{"wav", []byte("RIFF\x24\x00\x00\x00WAVEfmt "), typeWAV, false},
	} {
		got, isZip, err := sniff(head(tc.data))
		if err != nil || isZip != tc.zip || got.contentType != tc.want.contentType {
			t.Errorf("sniff(%s) = %q, zip %v, %v; want %q, zip %v", tc.name, got.contentType, isZip, err, tc.want.contentType, tc.zip)
		}
	}
	for _, tc := range []struct {
		name string
		data []byte
	}{
		{"executable", exeBytes},
		{"elf", []byte("\x7fELF\x02\x01\x01\x00")},
		{"script", []byte("#!/bin/sh\nrm -rf /\n")},
		{"html", []byte("<!DOCTYPE html><script>alert(1)</script>")},
		{"svg", []byte(`<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>`)},
		{"text", []byte("Báo cáo")},
		{"pdf header too late", append(bytes.Repeat([]byte(" "), 2000), testenv.PDF(1, 0)...)},
		{"heic", []byte("\x00\x00\x00\x18ftypheic\x00\x00\x00\x00")},
		{"matroska", []byte{0x1A, 0x45, 0xDF, 0xA3, 0x9F, 0x42, 0x86, 0x81, 0x01, 'm', 'a', 't', 'r', 'o', 's', 'k', 'a'}},
	} {
		if got, isZip, err := sniff(head(tc.data)); !errors.Is(err, errUnsupported) || isZip {
			t.Errorf("sniff(%s) = %q, zip %v, %v; want errUnsupported", tc.name, got.contentType, isZip, err)
		}
	}
}

func TestInspectOOXML(t *testing.T) {
	for _, tc := range []struct {
		name string
		data []byte
		want fileType
	}{
		{"docx", ooxml(t, ctDOCX, "word/document.xml"), typeDOCX},
		{"xlsx", ooxml(t, ctXLSX, "xl/workbook.xml"), typeXLSX},
		{"pptx", ooxml(t, ctPPTX, "ppt/presentation.xml"), typePPTX},
	} {
		got, err := inspectOOXML(bytes.NewReader(tc.data), int64(len(tc.data)))
		if err != nil || got.contentType != tc.want.contentType {
			t.Errorf("inspectOOXML(%s) = %q, %v; want %q", tc.name, got.contentType, err, tc.want.contentType)
		}
	}
	for _, tc := range []struct {
		name string
		data []byte
	}{
		{"plain zip", plainZip(t)},
		{"macro-enabled docm", ooxml(t, ctDOCM, "word/document.xml")},
		{"main part missing", ooxmlWithEntry(t, ctDOCX, "word/document.xml", "word/other.xml")},
		{"truncated", ooxml(t, ctDOCX, "word/document.xml")[:100]},
	} {
		if _, err := inspectOOXML(bytes.NewReader(tc.data), int64(len(tc.data))); !errors.Is(err, errUnsupported) {
			t.Errorf("inspectOOXML(%s) = %v, want errUnsupported", tc.name, err)
		}
	}
}
