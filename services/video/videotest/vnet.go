package videotest

import (
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/pion/logging"
	"github.com/pion/rtp"
	"github.com/pion/transport/v5/vnet"
	"github.com/pion/webrtc/v4"
)

// VNet is a virtual network (pion vnet) in the test's own process, for the
// service and its clients: what it carries never reaches a real network,
// and a test can lose packets on one host's path. Its addresses are in
// 192.0.2.0/24 (TEST-NET-1, RFC 5737).
type VNet struct {
	tb     testing.TB
	router *vnet.Router

	mu    sync.Mutex
	hosts int
	loss  []*Loss
}

// VNetCIDR is the virtual network's address range, for the service's
// VIDEO_ICE_NETWORKS.
const VNetCIDR = "192.0.2.0/24"

// NewVNet starts an empty virtual network; it stops with the test.
func NewVNet(tb testing.TB) *VNet {
	tb.Helper()
	r, err := vnet.NewRouter(&vnet.RouterConfig{CIDR: VNetCIDR, LoggerFactory: logging.NewDefaultLoggerFactory()})
	if err != nil {
		tb.Fatal(err)
	}
	v := &VNet{tb: tb, router: r}
	r.AddChunkFilter(v.pass)
	if err := r.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = r.Stop() })
	return v
}

// Host adds a host to the network and returns its stack and address.
func (v *VNet) Host() (*vnet.Net, net.IP) {
	v.tb.Helper()
	v.mu.Lock()
	v.hosts++
	ip := net.IPv4(192, 0, 2, byte(v.hosts))
	v.mu.Unlock()
	n, err := vnet.NewNet(&vnet.NetConfig{StaticIPs: []string{ip.String()}})
	if err != nil {
		v.tb.Fatal(err)
	}
	if err := v.router.AddNet(n); err != nil {
		v.tb.Fatal(err)
	}
	return n, ip
}

// API is a client API whose ICE runs on n, a host of this network.
func (v *VNet) API(n *vnet.Net) *webrtc.API {
	v.tb.Helper()
	_, inside, _ := net.ParseCIDR(VNetCIDR)
	return newAPIWith(v.tb, nil, func(se *webrtc.SettingEngine) {
		se.SetNet(n)
		se.SetIncludeLoopbackCandidate(false)
		se.SetInterfaceFilter(nil)
		se.SetIPFilter(inside.Contains)
		se.SetRemoteIPFilter(inside.Contains)
	})
}

// Loss drops, at random, the RTP packets of the given payload types sent
// from or to one host, as a lossy link there would; RTCP, STUN and DTLS
// pass. It counts what it saw per payload type.
type Loss struct {
	host net.IP
	from bool // the host's outgoing packets (else its incoming ones)
	rate float64
	pts  map[uint8]*LossCount
}

// LossCount is what a Loss saw of one payload type.
type LossCount struct {
	Seen, Dropped atomic.Int64
}

// LoseFrom drops a fraction rate of the RTP packets with the given payload
// types that host sends.
func (v *VNet) LoseFrom(host net.IP, rate float64, pts ...uint8) *Loss {
	return v.lose(&Loss{host: host, from: true, rate: rate}, pts)
}

// LoseTo drops a fraction rate of the RTP packets with the given payload
// types sent to host.
func (v *VNet) LoseTo(host net.IP, rate float64, pts ...uint8) *Loss {
	return v.lose(&Loss{host: host, rate: rate}, pts)
}

func (v *VNet) lose(l *Loss, pts []uint8) *Loss {
	l.pts = map[uint8]*LossCount{}
	for _, pt := range pts {
		l.pts[pt] = &LossCount{}
	}
	v.mu.Lock()
	v.loss = append(v.loss, l)
	v.mu.Unlock()
	return l
}

// Of is the count for payload type pt (one of those the Loss was made
// for).
func (l *Loss) Of(pt uint8) *LossCount { return l.pts[pt] }

// pass is the router's filter: false drops the chunk.
func (v *VNet) pass(c vnet.Chunk) bool {
	if c.Network() != "udp" {
		return true
	}
	v.mu.Lock()
	loss := v.loss
	v.mu.Unlock()
	for _, l := range loss {
		if !l.pass(c) {
			return false
		}
	}
	return true
}

func (l *Loss) pass(c vnet.Chunk) bool {
	addr := c.DestinationAddr()
	if l.from {
		addr = c.SourceAddr()
	}
	if ua, ok := addr.(*net.UDPAddr); !ok || !ua.IP.Equal(l.host) {
		return true
	}
	count := l.pts[rtpPayloadType(c.UserData())]
	if count == nil {
		return true
	}
	count.Seen.Add(1)
	if rand.Float64() < l.rate { //nolint:gosec // loss, not secrets
		count.Dropped.Add(1)
		return false
	}
	return true
}

// rtpPayloadType is the payload type of an RTP packet (its header is not
// encrypted by SRTP), or 0 for anything else: STUN, DTLS, RTCP (RFC 7983,
// RFC 5761 section 4).
func rtpPayloadType(b []byte) uint8 {
	if len(b) < 12 || b[0] < 128 || b[0] > 191 {
		return 0
	}
	if pt := b[1] & 0x7f; pt >= 64 && pt <= 95 {
		return 0 // RTCP
	}
	var h rtp.Header
	if _, err := h.Unmarshal(b); err != nil {
		return 0
	}
	return h.PayloadType
}
