// Package web serves the tablet web app from inside the gateway binary.
//
// The app is built by Vite (`npm ci && npm run build` in this directory) into dist/, which
// is embedded at compile time. dist/ is not committed except for an empty .gitkeep, so that
// the embed pattern matches on a clean clone; a binary built before the web app then serves
// placeholder/index.html, which says how to build it, instead of failing to compile.
package web

import (
	"bytes"
	"embed"
	"io"
	"io/fs"
	"net/http"
	"path"
	"strings"
)

//go:embed all:dist
var dist embed.FS

//go:embed placeholder
var placeholder embed.FS

// Handler serves the embedded web app (or the placeholder page when it was not built).
// Mount it at "/" after the gateway's own routes (/api/, /readyz, …).
func Handler() http.Handler {
	return NewHandler(App())
}

// Built reports whether the binary carries the built web app rather than the placeholder.
func Built() bool {
	_, err := fs.Stat(mustSub(dist, "dist"), "index.html")
	return err == nil
}

// App returns the files the gateway serves: the Vite build, or the placeholder.
func App() fs.FS {
	return choose(mustSub(dist, "dist"), mustSub(placeholder, "placeholder"))
}

func choose(built, fallback fs.FS) fs.FS {
	if _, err := fs.Stat(built, "index.html"); err == nil {
		return built
	}
	return fallback
}

func mustSub(fsys fs.FS, dir string) fs.FS {
	sub, err := fs.Sub(fsys, dir)
	if err != nil {
		panic(err) // dir is a constant embedded above: only a broken build gets here
	}
	return sub
}

// NewHandler serves a single-page app from fsys, whose root holds index.html and Vite's
// assets/ directory:
//
//   - files under assets/ carry a content hash in their names, so they are cached for a
//     year as immutable; a missing one is a 404 (a stale page asking for an old bundle
//     must not be handed index.html as JavaScript);
//   - index.html and other files are "no-cache": tablets revalidate and pick up a new
//     release on the next load;
//   - any other path that is not under /api/ gets index.html, so the app's own routes
//     (/meetings/…) survive a reload;
//   - dot files (dist/.gitkeep) and directory listings are never served.
func NewHandler(fsys fs.FS) http.Handler {
	return &handler{fsys: fsys}
}

type handler struct {
	fsys fs.FS
}

const (
	cacheImmutable  = "public, max-age=31536000, immutable"
	cacheRevalidate = "no-cache"
	// The app loads only its own scripts and styles and talks only to its own origin
	// (REST, /readyz, the live WebSocket); anything else in a page is a bug or an attack.
	contentSecurityPolicy = "default-src 'self'; connect-src 'self'; img-src 'self' data: blob:; " +
		"object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, http.StatusText(http.StatusMethodNotAllowed), http.StatusMethodNotAllowed)
		return
	}
	urlPath := path.Clean("/" + r.URL.Path)
	if urlPath == "/api" || strings.HasPrefix(urlPath, "/api/") {
		// An unknown API route is an API error, not a page of the app.
		http.NotFound(w, r)
		return
	}
	name := strings.TrimPrefix(urlPath, "/")
	if name != "" && name != "index.html" {
		if !hidden(name) && h.serveFile(w, r, name) {
			return
		}
		if strings.HasPrefix(name, "assets/") {
			http.NotFound(w, r)
			return
		}
	}
	if !h.serveFile(w, r, "index.html") {
		http.Error(w, "web app missing index.html", http.StatusInternalServerError)
	}
}

// serveFile writes the regular file name from fsys and reports whether it existed.
func (h *handler) serveFile(w http.ResponseWriter, r *http.Request, name string) bool {
	f, err := h.fsys.Open(name)
	if err != nil {
		return false
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil || !info.Mode().IsRegular() {
		return false
	}
	content, ok := f.(io.ReadSeeker)
	if !ok {
		// embed.FS files can seek; other fs.FS implementations (tests, os.DirFS) may not.
		b, err := io.ReadAll(f)
		if err != nil {
			return false
		}
		content = bytes.NewReader(b)
	}

	hdr := w.Header()
	hdr.Set("X-Content-Type-Options", "nosniff")
	if strings.HasPrefix(name, "assets/") {
		hdr.Set("Cache-Control", cacheImmutable)
	} else {
		hdr.Set("Cache-Control", cacheRevalidate)
	}
	if path.Ext(name) == ".html" {
		hdr.Set("Content-Security-Policy", contentSecurityPolicy)
		hdr.Set("Referrer-Policy", "same-origin")
	}
	// ServeContent sets Content-Type from the extension and handles HEAD and ranges.
	// embed.FS reports a zero ModTime, so no Last-Modified is sent.
	http.ServeContent(w, r, name, info.ModTime(), content)
	return true
}

// hidden reports whether any element of the slash-separated name starts with a dot.
func hidden(name string) bool {
	for elem := range strings.SplitSeq(name, "/") {
		if strings.HasPrefix(elem, ".") {
			return true
		}
	}
	return false
}
