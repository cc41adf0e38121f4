package files

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ecabinet/ecabinet/services/documents"
)

func TestParseAndResolveRange(t *testing.T) {
	const size = 1000
	for _, tc := range []struct {
		header    string
		ignored   bool
		malformed bool
		want      []byteRange
	}{
		{header: "bytes=0-499", want: []byteRange{{0, 499}}},
		{header: "bytes=500-", want: []byteRange{{500, 999}}},
		{header: "bytes=-200", want: []byteRange{{800, 999}}},
		{header: "bytes=-5000", want: []byteRange{{0, 999}}},
		{header: "bytes=900-5000", want: []byteRange{{900, 999}}},
		{header: "BYTES = 0-0", want: []byteRange{{0, 0}}},
		{header: "bytes=0-1, 5-6", want: []byteRange{{0, 1}, {5, 6}}},
		{header: "bytes=1000-", want: nil},
		{header: "bytes=1000-2000, 2000-", want: nil},
		{header: "bytes=5000-, 0-1", want: []byteRange{{0, 1}}},
		{header: "pages=1-2", ignored: true},
		{header: "0-10", ignored: true},
		{header: "bytes=abc", malformed: true},
		{header: "bytes=5-1", malformed: true},
		{header: "bytes=", malformed: true},
		{header: "bytes=-0", malformed: true},
		{header: "bytes=-", malformed: true},
		{header: "bytes=+1-2", malformed: true},
		{header: "bytes=1-2-3", malformed: true},
		{header: "bytes=99999999999999999999-", malformed: true},
	} {
		specs, ok, err := parseRange(tc.header)
		if ok == tc.ignored || (err != nil) != tc.malformed {
			t.Errorf("parseRange(%q) = ok %v, err %v; want ignored %v, malformed %v", tc.header, ok, err, tc.ignored, tc.malformed)
			continue
		}
		if !ok || err != nil {
			continue
		}
		if diff := cmp.Diff(tc.want, resolve(specs, size), cmp.AllowUnexported(byteRange{})); diff != "" {
			t.Errorf("resolve(%q) (-want +got):\n%s", tc.header, diff)
		}
	}
}

func TestContinuation(t *testing.T) {
	for h, want := range map[string]bool{
		"": false, "bytes=0-65535": false, "bytes=0-": false,
		"bytes=65536-131071": true, "bytes=-1024": true, "garbage": false,
	} {
		if got := continuation(h); got != want {
			t.Errorf("continuation(%q) = %v, want %v", h, got, want)
		}
	}
}

func TestETagConditions(t *testing.T) {
	const etag = `"abc"`
	for h, want := range map[string]bool{`"abc"`: true, `W/"abc"`: true, `"x", "abc"`: true, `*`: true, `"abcd"`: false, `abc`: false} {
		if got := etagMatches(h, etag); got != want {
			t.Errorf("etagMatches(%q) = %v", h, got)
		}
	}
	for h, want := range map[string]bool{"": true, `"abc"`: true, `W/"abc"`: false, "Wed, 21 Oct 2015 07:28:00 GMT": false} {
		if got := ifRangeHolds(h, etag); got != want {
			t.Errorf("ifRangeHolds(%q) = %v", h, got)
		}
	}
}

// The service and the gateway name the ready header alike.
func TestUploadReadyHeaderMatchesTheService(t *testing.T) {
	if uploadReadyHeader != documents.UploadReadyHeader {
		t.Errorf("gateway waits for %q, service sends %q", uploadReadyHeader, documents.UploadReadyHeader)
	}
	for reason := range reasonStatus {
		if reason != documents.ReasonFileTooLarge && reason != documents.ReasonUnsupportedMediaType {
			t.Errorf("reason %q is not one the service gives", reason)
		}
	}
}
