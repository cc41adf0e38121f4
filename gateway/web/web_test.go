package web

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"
)

const (
	indexBody = "<!doctype html><title>app</title>"
	jsBody    = "console.log('app')"
)

func appFS() fstest.MapFS {
	return fstest.MapFS{
		"index.html":              {Data: []byte(indexBody)},
		"favicon.svg":             {Data: []byte("<svg/>")},
		"assets/index-abc123.js":  {Data: []byte(jsBody)},
		"assets/index-abc123.css": {Data: []byte("body{}")},
		".gitkeep":                {Data: nil},
		"assets/.secret":          {Data: []byte("no")},
	}
}

func TestHandler(t *testing.T) {
	h := NewHandler(appFS())
	tests := []struct {
		name        string
		method      string
		path        string
		wantStatus  int
		wantBody    string // exact body; "" means not checked
		wantType    string // prefix of Content-Type; "" means not checked
		wantCache   string // "" means the header must be absent
		wantCSP     bool
		wantAllowed string
	}{
		{name: "root is index", path: "/", wantStatus: 200, wantBody: indexBody, wantType: "text/html", wantCache: cacheRevalidate, wantCSP: true},
		{name: "index.html itself, no redirect", path: "/index.html", wantStatus: 200, wantBody: indexBody, wantType: "text/html", wantCache: cacheRevalidate, wantCSP: true},
		{name: "hashed asset is immutable", path: "/assets/index-abc123.js", wantStatus: 200, wantBody: jsBody, wantType: "text/javascript", wantCache: cacheImmutable},
		{name: "hashed stylesheet", path: "/assets/index-abc123.css", wantStatus: 200, wantType: "text/css", wantCache: cacheImmutable},
		{name: "unhashed public file revalidates", path: "/favicon.svg", wantStatus: 200, wantType: "image/svg+xml", wantCache: cacheRevalidate},
		{name: "app route falls back to index", path: "/meetings/42/agenda", wantStatus: 200, wantBody: indexBody, wantType: "text/html", wantCache: cacheRevalidate, wantCSP: true},
		{name: "missing asset is 404, not html", path: "/assets/index-old999.js", wantStatus: 404},
		{name: "assets directory is not listed", path: "/assets/", wantStatus: 200, wantBody: indexBody, wantCache: cacheRevalidate, wantCSP: true},
		{name: "dot file is hidden", path: "/.gitkeep", wantStatus: 200, wantBody: indexBody, wantCache: cacheRevalidate, wantCSP: true},
		{name: "dot file under assets is hidden", path: "/assets/.secret", wantStatus: 404},
		{name: "dot dot cannot escape", path: "/assets/../../index.html", wantStatus: 200, wantBody: indexBody, wantCache: cacheRevalidate, wantCSP: true},
		{name: "unknown api route is 404", path: "/api/v1/nothing", wantStatus: 404},
		{name: "api root is 404", path: "/api", wantStatus: 404},
		{name: "api-like page name is the app", path: "/apiary", wantStatus: 200, wantBody: indexBody, wantCache: cacheRevalidate, wantCSP: true},
		{name: "HEAD has no body", method: http.MethodHead, path: "/", wantStatus: 200, wantType: "text/html", wantCache: cacheRevalidate, wantCSP: true},
		{name: "POST is refused", method: http.MethodPost, path: "/", wantStatus: 405, wantAllowed: "GET, HEAD"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			method := tc.method
			if method == "" {
				method = http.MethodGet
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(method, tc.path, nil))
			res := rec.Result()
			body, _ := io.ReadAll(res.Body)

			if res.StatusCode != tc.wantStatus {
				t.Fatalf("%s %s: status %d, want %d (body %q)", method, tc.path, res.StatusCode, tc.wantStatus, body)
			}
			if tc.wantStatus != 200 {
				if got := res.Header.Get("Allow"); got != tc.wantAllowed {
					t.Errorf("Allow = %q, want %q", got, tc.wantAllowed)
				}
				if strings.Contains(string(body), indexBody) {
					t.Errorf("error response carries index.html: %q", body)
				}
				return
			}
			if tc.wantBody != "" && string(body) != tc.wantBody {
				t.Errorf("body = %q, want %q", body, tc.wantBody)
			}
			if method == http.MethodHead && len(body) != 0 {
				t.Errorf("HEAD body = %q, want none", body)
			}
			if got := res.Header.Get("Content-Type"); !strings.HasPrefix(got, tc.wantType) {
				t.Errorf("Content-Type = %q, want prefix %q", got, tc.wantType)
			}
			if got := res.Header.Get("Cache-Control"); got != tc.wantCache {
				t.Errorf("Cache-Control = %q, want %q", got, tc.wantCache)
			}
			if got := res.Header.Get("Content-Security-Policy") != ""; got != tc.wantCSP {
				t.Errorf("has Content-Security-Policy = %v, want %v", got, tc.wantCSP)
			}
			if got := res.Header.Get("X-Content-Type-Options"); got != "nosniff" {
				t.Errorf("X-Content-Type-Options = %q, want nosniff", got)
			}
		})
	}
}

func TestHandlerRange(t *testing.T) {
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodGet, "/assets/index-abc123.js", nil)
	req.Header.Set("Range", "bytes=0-6")
	NewHandler(appFS()).ServeHTTP(rec, req)
	if rec.Code != http.StatusPartialContent || rec.Body.String() != jsBody[:7] {
		t.Fatalf("range request: status %d body %q, want 206 %q", rec.Code, rec.Body.String(), jsBody[:7])
	}
}

func TestHandlerWithoutIndex(t *testing.T) {
	rec := httptest.NewRecorder()
	NewHandler(fstest.MapFS{}).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	if rec.Code != http.StatusInternalServerError {
		t.Fatalf("status %d, want 500 when the app has no index.html", rec.Code)
	}
}

func TestChoose(t *testing.T) {
	placeholderFS := fstest.MapFS{"index.html": {Data: []byte("placeholder")}}
	tests := []struct {
		name  string
		built fstest.MapFS
		want  string
	}{
		{name: "built app wins", built: appFS(), want: indexBody},
		{name: "clean clone: only .gitkeep", built: fstest.MapFS{".gitkeep": {}}, want: "placeholder"},
		{name: "half-built: assets but no index", built: fstest.MapFS{"assets/a.js": {Data: []byte(jsBody)}}, want: "placeholder"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			NewHandler(choose(tc.built, placeholderFS)).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/some/page", nil))
			if rec.Code != 200 || rec.Body.String() != tc.want {
				t.Fatalf("status %d body %q, want 200 %q", rec.Code, rec.Body.String(), tc.want)
			}
		})
	}
}

// TestEmbedded checks the real embedded files, whichever state this checkout is in.
func TestEmbedded(t *testing.T) {
	rec := httptest.NewRecorder()
	Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	body := rec.Body.String()
	if rec.Code != 200 || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/html") {
		t.Fatalf("GET /: status %d, Content-Type %q", rec.Code, rec.Header().Get("Content-Type"))
	}
	if Built() {
		if !strings.Contains(body, `src="/assets/`) {
			t.Errorf("built app's index.html does not load a hashed bundle:\n%s", body)
		}
	} else if !strings.Contains(body, "make run") {
		t.Errorf("placeholder does not tell how to build the app:\n%s", body)
	}

	// The placeholder itself must always be embedded and say what to do.
	b, err := placeholder.ReadFile("placeholder/index.html")
	if err != nil {
		t.Fatalf("placeholder not embedded: %v", err)
	}
	if !strings.Contains(string(b), "make run") {
		t.Errorf("placeholder does not mention make run")
	}
}
