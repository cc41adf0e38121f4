package video

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
)

// ICE timeouts: a peer whose packets stop is "disconnected" after
// iceDisconnected and "failed" (and then removed) after iceFailed.
const (
	iceDisconnected = 5 * time.Second
	iceFailed       = 10 * time.Second
	iceKeepalive    = 2 * time.Second
)

// engine is the WebRTC side of the service: one pion API (codecs,
// interceptors, settings) shared by every peer connection, and the one UDP
// socket (or one per local address) all their ICE traffic goes through.
type engine struct {
	api   *webrtc.API
	mux   io.Closer
	addr  []net.Addr // where the mux listens
	relay *relay     // nil without VIDEO_TURN_ADDR
}

// startEngine opens the UDP mux and builds the API. Nothing is sent until
// a peer connection is made.
func startEngine(cfg Config, log *slog.Logger) (*engine, error) {
	nets, ip, port, err := cfg.parse()
	if err != nil {
		return nil, err
	}

	var mux ice.UDPMux
	var addrs []net.Addr
	if ip != nil && !ip.IsUnspecified() {
		conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: ip, Port: port})
		if err != nil {
			return nil, fmt.Errorf("VIDEO_UDP_ADDR: %w", err)
		}
		mux = webrtc.NewICEUDPMux(nil, conn)
		addrs = []net.Addr{conn.LocalAddr()}
	} else {
		// An unspecified address: one socket per local address inside the
		// allowed networks (a mux on 0.0.0.0 would advertise every
		// interface, whatever the filter says).
		opts := []ice.UDPMuxFromPortOption{
			ice.UDPMuxFromPortWithIPFilter(nets.allows),
			ice.UDPMuxFromPortWithNetworks(ice.NetworkTypeUDP4, ice.NetworkTypeUDP6),
		}
		if nets.includesLoopback() {
			opts = append(opts, ice.UDPMuxFromPortWithLoopback())
		}
		m, err := ice.NewMultiUDPMuxFromPort(port, opts...)
		if err != nil {
			return nil, fmt.Errorf("VIDEO_UDP_ADDR: %w", err)
		}
		mux = m
		addrs = m.GetListenAddresses()
	}
	if len(addrs) == 0 {
		_ = mux.Close()
		return nil, errors.New("VIDEO_UDP_ADDR: no local address inside VIDEO_ICE_NETWORKS")
	}

	var se webrtc.SettingEngine
	se.SetICEUDPMux(mux)
	se.SetIncludeLoopbackCandidate(nets.includesLoopback())
	// Our candidates and the client's both stay inside the networks: the
	// service never sends to an address it was not configured for.
	se.SetIPFilter(nets.allows)
	se.SetRemoteIPFilter(nets.allows)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4, webrtc.NetworkTypeUDP6})
	// No multicast DNS: it would send to 224.0.0.251 on every interface.
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetICETimeouts(iceDisconnected, iceFailed, iceKeepalive)

	me := &webrtc.MediaEngine{}
	if err := me.RegisterDefaultCodecs(); err != nil {
		_ = mux.Close()
		return nil, fmt.Errorf("codecs: %w", err)
	}
	// Publishers' audio levels (RFC 6464), for the active speaker.
	if err := me.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: sdp.AudioLevelURI}, webrtc.RTPCodecTypeAudio); err != nil {
		_ = mux.Close()
		return nil, fmt.Errorf("audio level extension: %w", err)
	}
	// NACK generator and responder (with a per-track packet cache), RTCP
	// sender/receiver reports, TWCC feedback to publishers: pion's default
	// set but its stats interceptor, which nothing reads (GetStats) and
	// which clones every packet's header for every subscriber — in the
	// fan-out's hottest path.
	ir := &interceptor.Registry{}
	if err := registerInterceptors(me, ir); err != nil {
		_ = mux.Close()
		return nil, fmt.Errorf("interceptors: %w", err)
	}
	api := webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithInterceptorRegistry(ir), webrtc.WithSettingEngine(se))
	rl, err := startRelay(cfg, addrs)
	if err != nil {
		_ = mux.Close()
		return nil, err
	}
	log.Info("video: ICE listening", "udp", fmt.Sprint(addrs), "networks", cfg.ICENetworks, "turn", cfg.TURNAddr)
	return &engine{api: api, mux: mux, addr: addrs, relay: rl}, nil
}

// registerInterceptors is webrtc.RegisterDefaultInterceptors without the
// stats interceptor.
func registerInterceptors(me *webrtc.MediaEngine, ir *interceptor.Registry) error {
	if err := webrtc.ConfigureNack(me, ir); err != nil {
		return err
	}
	if err := webrtc.ConfigureRTCPReports(ir); err != nil {
		return err
	}
	if err := webrtc.ConfigureSimulcastExtensionHeaders(me); err != nil {
		return err
	}
	return webrtc.ConfigureTWCCSender(me, ir)
}

func (e *engine) close() {
	if e.relay != nil {
		e.relay.close()
	}
	_ = e.mux.Close()
}
