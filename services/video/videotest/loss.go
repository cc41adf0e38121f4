package videotest

import (
	"math/rand/v2"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/pion/interceptor"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// Dropped is an interceptor factory that loses incoming VP8 packets at
// random, and counts them. RTX counts the packets that arrived on an RTX
// stream (retransmissions sent as RFC 4588 RTX, not on the media SSRC).
type Dropped struct {
	rate    float64
	Seen    atomic.Int64
	Dropped atomic.Int64
	RTX     atomic.Int64
}

// NewInterceptor implements interceptor.Factory.
func (d *Dropped) NewInterceptor(string) (interceptor.Interceptor, error) {
	return &dropper{d: d}, nil
}

type dropper struct {
	interceptor.NoOp
	d *Dropped
}

// BindRemoteStream drops packets of VP8 streams (not their
// retransmissions on an RTX stream, nor audio).
func (p *dropper) BindRemoteStream(info *interceptor.StreamInfo, reader interceptor.RTPReader) interceptor.RTPReader {
	if strings.EqualFold(info.MimeType, "video/rtx") {
		return interceptor.RTPReaderFunc(func(b []byte, a interceptor.Attributes) (int, interceptor.Attributes, error) {
			n, attrs, err := reader.Read(b, a)
			if err == nil {
				p.d.RTX.Add(1)
			}
			return n, attrs, err
		})
	}
	if !strings.EqualFold(info.MimeType, "video/VP8") {
		return reader
	}
	return interceptor.RTPReaderFunc(func(b []byte, a interceptor.Attributes) (int, interceptor.Attributes, error) {
		for {
			n, attrs, err := reader.Read(b, a)
			if err != nil {
				return n, attrs, err
			}
			p.d.Seen.Add(1)
			if rand.Float64() < p.d.rate {
				p.d.Dropped.Add(1)
				continue
			}
			return n, attrs, nil
		}
	})
}

// SendLoss is an interceptor factory that loses a publisher's outgoing VP8
// packets at random on their media SSRC, below its NACK responder (as if
// lost on the network), and counts the retransmissions it sends on the RTX
// SSRC, which it lets through.
type SendLoss struct {
	rate    float64
	Sent    atomic.Int64
	Dropped atomic.Int64
	RTX     atomic.Int64
}

// LossyPublisherAPI is API with outgoing VP8 lost at rate (see SendLoss).
func LossyPublisherAPI(tb testing.TB, rate float64) (*webrtc.API, *SendLoss) {
	tb.Helper()
	l := &SendLoss{rate: rate}
	return newAPI(tb, l), l
}

// NewInterceptor implements interceptor.Factory.
func (l *SendLoss) NewInterceptor(string) (interceptor.Interceptor, error) {
	return &sendDropper{l: l}, nil
}

type sendDropper struct {
	interceptor.NoOp
	l *SendLoss
}

// BindLocalStream drops packets of VP8 streams on their media SSRC.
func (p *sendDropper) BindLocalStream(info *interceptor.StreamInfo, writer interceptor.RTPWriter) interceptor.RTPWriter {
	if !strings.EqualFold(info.MimeType, "video/VP8") {
		return writer
	}
	return interceptor.RTPWriterFunc(func(h *rtp.Header, payload []byte, a interceptor.Attributes) (int, error) {
		switch {
		case info.SSRCRetransmission != 0 && h.SSRC == info.SSRCRetransmission:
			p.l.RTX.Add(1)
		case h.SSRC == info.SSRC:
			p.l.Sent.Add(1)
			if rand.Float64() < p.l.rate {
				p.l.Dropped.Add(1)
				return len(payload), nil
			}
		}
		return writer.Write(h, payload, a)
	})
}
