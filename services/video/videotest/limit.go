package videotest

import (
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/interceptor"
)

// Limiter is an interceptor factory that holds a client's incoming video
// (media and RTX retransmissions alike: one link carries both) to a bit
// rate, dropping what exceeds it, as a slow link with a short queue does.
// It is a real constraint for the sender's congestion control: what is
// dropped never reaches the transport-wide feedback or the application.
type Limiter struct {
	mu     sync.Mutex
	rate   float64 // bits per second; 0: no limit
	tokens float64 // bits
	last   time.Time

	Dropped atomic.Int64
}

// SetRate limits incoming video to bps bits per second (0: no limit). The
// bucket holds a quarter second's worth, so a keyframe of the size the
// rate allows passes whole.
func (l *Limiter) SetRate(bps int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.rate = float64(bps)
	l.tokens = l.rate / 4
	l.last = time.Now()
}

// pass reports whether a packet of n bytes fits the rate now.
func (l *Limiter) pass(n int) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.rate == 0 {
		return true
	}
	now := time.Now()
	l.tokens = min(l.tokens+now.Sub(l.last).Seconds()*l.rate, l.rate/4)
	l.last = now
	if bits := float64(n * 8); l.tokens >= bits {
		l.tokens -= bits
		return true
	}
	l.Dropped.Add(1)
	return false
}

// NewInterceptor implements interceptor.Factory.
func (l *Limiter) NewInterceptor(string) (interceptor.Interceptor, error) {
	return &limiter{l: l}, nil
}

type limiter struct {
	interceptor.NoOp
	l *Limiter
}

// BindRemoteStream limits video streams (VP8 and its RTX), not audio.
func (p *limiter) BindRemoteStream(info *interceptor.StreamInfo, reader interceptor.RTPReader) interceptor.RTPReader {
	if !strings.HasPrefix(strings.ToLower(info.MimeType), "video/") {
		return reader
	}
	return interceptor.RTPReaderFunc(func(b []byte, a interceptor.Attributes) (int, interceptor.Attributes, error) {
		for {
			n, attrs, err := reader.Read(b, a)
			if err != nil || p.l.pass(n) {
				return n, attrs, err
			}
		}
	})
}
