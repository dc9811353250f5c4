// Package status serves a small HTML page that shows, at a glance, a node,
// the health of its peers, how the ring shares the keys out and how each
// cache group is doing.
//
// The page is rendered on the server with html/template, which escapes
// every value, and needs no JavaScript; /status.json serves the same
// numbers for scripts.
package status

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"time"
)

//go:embed status.html
var pageText string

// Handler returns a handler that serves the status page of src at "/" and
// its JSON form at "/status.json"; other paths are not found. Mount it at
// the root, or under a prefix with http.StripPrefix. A nil src panics.
func Handler(src Source) http.Handler {
	if src == nil {
		panic("status: nil Source")
	}
	h := &handler{
		src: src,
		page: template.Must(template.New("status").Funcs(template.FuncMap{
			"percent":    func(f float64) string { return fmt.Sprintf("%.1f%%", f*100) },
			"bytes":      formatBytes,
			"uptime":     func(d time.Duration) string { return d.Round(time.Second).String() },
			"stateClass": stateClass,
		}).Parse(pageText)),
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", h.serveHTML)
	mux.HandleFunc("GET /status.json", h.serveJSON)
	return mux
}

// handler is safe for concurrent use: a parsed template may be executed
// by several goroutines at once.
type handler struct {
	src  Source
	page *template.Template
}

// The page is about a live node: never serve a cached copy, and allow
// nothing but the inline style block.
func setHeaders(w http.ResponseWriter, contentType string) {
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
}

func (h *handler) serveHTML(w http.ResponseWriter, r *http.Request) {
	// Render into a buffer first, so that a failure is a 500 and not half
	// a page.
	var buf bytes.Buffer
	if err := h.page.Execute(&buf, h.src.Status()); err != nil {
		http.Error(w, fmt.Sprintf("status: render page: %v", err), http.StatusInternalServerError)
		return
	}
	setHeaders(w, "text/html; charset=utf-8")
	w.Write(buf.Bytes())
}

func (h *handler) serveJSON(w http.ResponseWriter, r *http.Request) {
	b, err := json.MarshalIndent(h.src.Status(), "", "  ")
	if err != nil {
		http.Error(w, fmt.Sprintf("status: encode json: %v", err), http.StatusInternalServerError)
		return
	}
	setHeaders(w, "application/json")
	w.Write(append(b, '\n'))
}

// stateClass returns the CSS class of a peer state; an unknown state gets
// none rather than whatever string the source gave.
func stateClass(s PeerState) string {
	switch s {
	case Healthy, HalfOpen, Open:
		return string(s)
	}
	return ""
}

// formatBytes returns n in binary units, such as "1.5 MiB".
func formatBytes(n int64) string {
	const unit = 1024
	if n < unit && n > -unit {
		return fmt.Sprintf("%d B", n)
	}
	f, u := float64(n)/unit, 0
	units := [...]string{"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"}
	for (f >= unit || f <= -unit) && u < len(units)-1 {
		f /= unit
		u++
	}
	return fmt.Sprintf("%.1f %s", f, units[u])
}
