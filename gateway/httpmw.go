package gateway

import (
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ecabinet/ecabinet/services/platform/logging"
)

// statusRecorder remembers the status a handler wrote, for logs and metrics.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (s *statusRecorder) WriteHeader(code int) {
	s.status = code
	s.ResponseWriter.WriteHeader(code)
}

// Unwrap lets http.ResponseController reach Flush/Hijack (WebSocket upgrade).
func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// withRequestID gives every request an id (the client's X-Request-Id if it
// sent a sane one), echoes it, carries it to the services and logs the request.
func withRequestID(log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get(logging.RequestIDHeader)
		if id == "" || len(id) > 64 {
			id = logging.NewRequestID()
		}
		w.Header().Set(logging.RequestIDHeader, id)
		ctx := logging.WithRequestID(r.Context(), id)
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		start := time.Now()
		next.ServeHTTP(rec, r.WithContext(ctx))
		log.InfoContext(ctx, "http request", "method", r.Method, "path", r.URL.Path,
			"status", rec.status, "duration_ms", time.Since(start).Milliseconds())
	})
}

type httpMetrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

func newHTTPMetrics(reg prometheus.Registerer) *httpMetrics {
	m := &httpMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "ecabinet_http_requests_total",
			Help: "HTTP requests served by the gateway, by handler and status code.",
		}, []string{"handler", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "ecabinet_http_request_duration_seconds",
			Help:    "Time to serve an HTTP request, by handler.",
			Buckets: prometheus.DefBuckets,
		}, []string{"handler"}),
	}
	reg.MustRegister(m.requests, m.duration)
	return m
}

// wrap records requests under a fixed handler name; paths are not used as
// labels so that ids in URLs cannot blow up the series count.
func (m *httpMetrics) wrap(handler string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		start := time.Now()
		next.ServeHTTP(rec, r)
		m.duration.WithLabelValues(handler).Observe(time.Since(start).Seconds())
		m.requests.WithLabelValues(handler, strconv.Itoa(rec.status)).Inc()
	})
}
