package videotest

import (
	"math/rand/v2"
	"strings"
	"sync/atomic"

	"github.com/pion/interceptor"
)

// Dropped is an interceptor factory that loses incoming VP8 packets at
// random, and counts them.
type Dropped struct {
	rate    float64
	Seen    atomic.Int64
	Dropped atomic.Int64
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
