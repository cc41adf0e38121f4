package videotest

import (
	"net"
	"sync/atomic"
	"testing"

	"github.com/pion/ice/v4"
	"github.com/pion/webrtc/v4"
)

// Cable is a client's network link, which a test can cut and restore: cut,
// nothing the client sends leaves and nothing sent to it arrives, as when a
// tablet's Wi-Fi drops; the socket itself stays open, so the client comes
// back on the same address, as a tablet rejoining its Wi-Fi usually does.
type Cable struct {
	net.PacketConn
	cut atomic.Bool
}

// Cut drops everything from now on; Restore lets it through again.
func (c *Cable) Cut()     { c.cut.Store(true) }
func (c *Cable) Restore() { c.cut.Store(false) }

// ReadFrom discards what arrives while the cable is cut.
func (c *Cable) ReadFrom(b []byte) (int, net.Addr, error) {
	for {
		n, addr, err := c.PacketConn.ReadFrom(b)
		if err != nil || !c.cut.Load() {
			return n, addr, err
		}
	}
}

// WriteTo sends nothing while the cable is cut (and says it did, as a
// socket whose network is gone does).
func (c *Cable) WriteTo(b []byte, addr net.Addr) (int, error) {
	if c.cut.Load() {
		return len(b), nil
	}
	return c.PacketConn.WriteTo(b, addr)
}

// CableAPI is API whose ICE goes through one loopback UDP socket behind a
// Cable. Use it for one client: the socket is that client's.
func CableAPI(tb testing.TB) (*webrtc.API, *Cable) {
	tb.Helper()
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		tb.Fatal(err)
	}
	cable := &Cable{PacketConn: conn}
	mux := ice.NewUDPMuxDefault(ice.UDPMuxParams{UDPConn: cable})
	tb.Cleanup(func() { _ = mux.Close() })
	return newAPIWith(tb, nil, func(se *webrtc.SettingEngine) { se.SetICEUDPMux(mux) }), cable
}
