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
	"github.com/pion/interceptor/pkg/cc"
	"github.com/pion/interceptor/pkg/gcc"
	"github.com/pion/interceptor/pkg/nack"
	"github.com/pion/sdp/v3"
	"github.com/pion/transport/v5"
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

// startEngine opens the UDP mux on network n (nil: the operating system's)
// and builds the API. Nothing is sent until a peer connection is made.
func startEngine(cfg Config, n transport.Net, log *slog.Logger) (*engine, error) {
	nets, ip, port, err := cfg.parse()
	if err != nil {
		return nil, err
	}
	if n != nil && (ip == nil || ip.IsUnspecified()) {
		// Finding the local addresses is the operating system's business.
		return nil, errors.New("VIDEO_UDP_ADDR: an unspecified address needs the operating system's network")
	}

	var mux ice.UDPMux
	var addrs []net.Addr
	if n != nil {
		conn, err := n.ListenUDP("udp4", &net.UDPAddr{IP: ip, Port: port})
		if err != nil {
			return nil, fmt.Errorf("VIDEO_UDP_ADDR: %w", err)
		}
		mux = webrtc.NewICEUDPMux(nil, conn)
		addrs = []net.Addr{conn.LocalAddr()}
	} else if ip != nil && !ip.IsUnspecified() {
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
	if n != nil {
		se.SetNet(n)
	}
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
	if cfg.PublicIP != "" {
		// Behind a one-to-one NAT: offer the public address in place of
		// the local one (the mux still listens locally).
		if err := se.SetICEAddressRewriteRules(webrtc.ICEAddressRewriteRule{External: []string{cfg.PublicIP},
			AsCandidateType: webrtc.ICECandidateTypeHost, Mode: webrtc.ICEAddressRewriteReplace}); err != nil {
			_ = mux.Close()
			return nil, fmt.Errorf("VIDEO_PUBLIC_IP: %w", err)
		}
	}

	me := &webrtc.MediaEngine{}
	if err := registerCodecs(me); err != nil {
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

// registerCodecs registers VP8 (with RTX) and Opus only — the issue's
// "VP8 + Opus" — rather than pion's default list: layer switching and the
// recording find keyframes in VP8, and one codec per kind means every
// subscriber takes every publisher's media as it comes. A browser that
// would put H.264 first (Safari) is answered with VP8, which it also has.
// Payload types and feedback as pion's defaults.
func registerCodecs(me *webrtc.MediaEngine) error {
	videoFeedback := []webrtc.RTCPFeedback{{Type: "goog-remb"}, {Type: "ccm", Parameter: "fir"}, {Type: "nack"}, {Type: "nack", Parameter: "pli"}}
	for _, c := range []struct {
		kind  webrtc.RTPCodecType
		codec webrtc.RTPCodecParameters
	}{
		{webrtc.RTPCodecTypeAudio, webrtc.RTPCodecParameters{PayloadType: 111, RTPCodecCapability: webrtc.RTPCodecCapability{
			MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2, SDPFmtpLine: "minptime=10;useinbandfec=1"}}},
		{webrtc.RTPCodecTypeVideo, webrtc.RTPCodecParameters{PayloadType: 96, RTPCodecCapability: webrtc.RTPCodecCapability{
			MimeType: webrtc.MimeTypeVP8, ClockRate: 90000, RTCPFeedback: videoFeedback}}},
		{webrtc.RTPCodecTypeVideo, webrtc.RTPCodecParameters{PayloadType: 97, RTPCodecCapability: webrtc.RTPCodecCapability{
			MimeType: webrtc.MimeTypeRTX, ClockRate: 90000, SDPFmtpLine: "apt=96"}}},
	} {
		if err := me.RegisterCodec(c.codec, c.kind); err != nil {
			return err
		}
	}
	return nil
}

// registerInterceptors is webrtc.RegisterDefaultInterceptors without the
// stats interceptor, plus send-side bandwidth estimation (pion's Google
// Congestion Control) from the subscribers' transport-wide feedback, for
// choosing their simulcast layers.
//
// Both run only while the connection receives a simulcast track
// (switchableBWE, twccWhenOn): for a room without simulcast they cost CPU
// for nothing.
//
// Order matters for what we send: the last registered sees a packet first.
// A packet goes RTCP reports → transport-wide sequence number (header
// extension) → congestion controller (notes it sent) → NACK responder
// (caches it) → network. So a retransmission leaves from the cache with
// its first transport-wide number and bypasses the controller: the
// estimate's loss is what retransmission did not repair, and random loss
// that NACKs repair does not starve a subscriber of its layer (congestion
// still shows, as delay and as loss that outlasts the retransmissions).
// The other order — retransmissions numbered and counted afresh, as
// libwebrtc does — failed here twice over: gcc's pacer knows only media
// SSRCs and refused the RTX ones ("unknown ssrc"), and the NACK responder
// then limits retransmissions to the estimate, which 10 % random loss had
// driven to its floor, so NACK recovery stopped working
// (TestNACKRecoversLoss).
//
// The NACK generator asks at most twice for a packet. pion hands a
// publisher's RTX repairs to the track past the generator, which never
// learns they came and, unbounded, asked again every 100 ms until the
// packet left its log: with 10 % loss the publisher sent ~3.5 times as
// many retransmissions as media packets (TestPublisherRTXRepairsReachTheSFU).
// Twice is one spare request for a retransmission lost in its turn.
func registerInterceptors(me *webrtc.MediaEngine, ir *interceptor.Registry) error {
	// webrtc.ConfigureNackWithOptions with our own responder (nack.go: no
	// copy of every packet for every subscriber), registered where pion's
	// was (first: nearest the network).
	generator, err := nack.NewGeneratorInterceptor(nack.GeneratorMaxNacksPerPacket(2))
	if err != nil {
		return err
	}
	me.RegisterFeedback(webrtc.RTCPFeedback{Type: "nack"}, webrtc.RTPCodecTypeVideo)
	me.RegisterFeedback(webrtc.RTCPFeedback{Type: "nack", Parameter: "pli"}, webrtc.RTPCodecTypeVideo)
	ir.Add(nackResponderFactory{})
	ir.Add(generator)
	bwe, err := cc.NewInterceptor(func() (cc.BandwidthEstimator, error) {
		// No pacer: the subscriber's writer sends as packets come (see
		// fanOut); a pacer would put a queue and a timer in the hot path.
		// Layers are chosen to fit the estimate instead.
		e, err := gcc.NewSendSideBWE(gcc.SendSideBWEInitialBitrate(bweInitial), gcc.SendSideBWEMinBitrate(bweMin),
			gcc.SendSideBWEMaxBitrate(bweMax), gcc.SendSideBWEPacer(gcc.NewNoOpPacer()))
		if err != nil {
			return nil, err
		}
		// Off until the connection receives a simulcast track.
		return &switchableBWE{SendSideBWE: e}, nil
	})
	if err != nil {
		return err
	}
	bwe.OnNewPeerConnection(func(id string, e cc.BandwidthEstimator) { estimators.Store(id, e) })
	ir.Add(bwe)
	// Transport-wide numbers on what we send, while the estimator is on
	// (the extension itself is registered by ConfigureTWCCSender below).
	ir.Add(twccWhenOnFactory{})
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
