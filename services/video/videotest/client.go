// Package videotest is a WebRTC client for tests of the video service: a
// pion peer connection kept on loopback that joins a room through any
// signaling transport (the gRPC stream, or the gateway's WebSocket), sends
// synthetic VP8 and Opus paced in real time, and counts what it receives.
package videotest

import (
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"

	videov1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/video/v1"
)

// Transport carries signaling messages; a gRPC Signal stream is one.
type Transport interface {
	Send(*videov1.SignalRequest) error
	Recv() (*videov1.SignalResponse, error)
}

// Wait bounds every wait in this package. It guards against a hang; it is
// not a performance budget.
const Wait = 30 * time.Second

// API is a pion API whose ICE uses loopback only (candidates, and the
// addresses it will send to), without multicast DNS: tests send nothing
// beyond 127.0.0.0/8.
func API(tb testing.TB) *webrtc.API {
	tb.Helper()
	return newAPI(tb, nil)
}

// LimitedAPI is API with incoming video (media and retransmissions) held
// to a bit rate of the test's choice, below the NACK generator and the
// transport-wide feedback, as a slow link would (see Limiter). It starts
// unlimited.
func LimitedAPI(tb testing.TB) (*webrtc.API, *Limiter) {
	tb.Helper()
	l := &Limiter{}
	return newAPI(tb, l), l
}

func newAPI(tb testing.TB, first interceptor.Factory) *webrtc.API {
	tb.Helper()
	return newAPIWith(tb, first, nil)
}

// newAPIWith is newAPI with settings of the caller's on top (setting may
// be nil).
func newAPIWith(tb testing.TB, first interceptor.Factory, setting func(*webrtc.SettingEngine)) *webrtc.API {
	tb.Helper()
	loopback := func(ip net.IP) bool { return ip.IsLoopback() }
	var se webrtc.SettingEngine
	se.SetIncludeLoopbackCandidate(true)
	se.SetIPFilter(loopback)
	se.SetRemoteIPFilter(loopback)
	se.SetInterfaceFilter(func(name string) bool { return name == "lo" })
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	if setting != nil {
		setting(&se)
	}
	me := &webrtc.MediaEngine{}
	if err := me.RegisterDefaultCodecs(); err != nil {
		tb.Fatal(err)
	}
	if err := me.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: sdp.AudioLevelURI}, webrtc.RTPCodecTypeAudio); err != nil {
		tb.Fatal(err)
	}
	ir := &interceptor.Registry{}
	if first != nil {
		// First in the registry: nearest the network.
		ir.Add(first)
	}
	if err := webrtc.RegisterDefaultInterceptors(me, ir); err != nil {
		tb.Fatal(err)
	}
	return webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithInterceptorRegistry(ir), webrtc.WithSettingEngine(se))
}

// Client is one participant.
type Client struct {
	tb testing.TB
	tr Transport
	PC *webrtc.PeerConnection

	sendMu sync.Mutex

	Joined *videov1.Joined
	// Errors are the SignalErrors the service sent; Events its peer
	// notices (joined, left, media state); Offers counts its offers.
	Errors chan *videov1.SignalError
	Events chan *videov1.SignalResponse
	Offers atomic.Int64
	// Done is closed when the stream ends; Err then says why.
	Done chan struct{}
	Err  error

	// Sink counts what the client receives; Source is what it sends once
	// Publish was called.
	Sink   *Sink
	Source *Source
	screen *Source // after ShareScreen

	holdOffers atomic.Bool
	closed     atomic.Bool
}

// New makes a client that has not joined yet.
func New(tb testing.TB, api *webrtc.API, tr Transport) *Client {
	tb.Helper()
	return NewWithConfig(tb, api, tr, webrtc.Configuration{})
}

// NewWithConfig is New with ICE servers or policies of the test's choice.
func NewWithConfig(tb testing.TB, api *webrtc.API, tr Transport, cfg webrtc.Configuration) *Client {
	tb.Helper()
	pc, err := api.NewPeerConnection(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	c := &Client{tb: tb, tr: tr, PC: pc,
		Errors: make(chan *videov1.SignalError, 64), Events: make(chan *videov1.SignalResponse, 256),
		Done: make(chan struct{}), Sink: &Sink{}, Source: NewSource(tb)}
	tb.Cleanup(c.Close)
	pc.OnICECandidate(func(cand *webrtc.ICECandidate) {
		if cand == nil {
			return
		}
		init := cand.ToJSON()
		m := &videov1.IceCandidate{Candidate: init.Candidate}
		if init.SDPMid != nil {
			m.SdpMid = *init.SDPMid
		}
		if init.SDPMLineIndex != nil {
			i := uint32(*init.SDPMLineIndex)
			m.SdpMlineIndex = &i
		}
		_ = c.Send(&videov1.SignalRequest{Message: &videov1.SignalRequest_Candidate{Candidate: m}})
	})
	pc.OnTrack(func(remote *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		c.Sink.Receive(remote, func() {
			_ = pc.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: uint32(remote.SSRC())}})
		})
	})
	return c
}

// Close stops the media and closes the connection (without a word to the
// service, as a client that vanishes).
func (c *Client) Close() {
	c.closed.Store(true)
	c.StopMedia()
	_ = c.PC.Close()
}

// gone reports whether err is only the client having been closed.
func (c *Client) gone(err error) bool {
	return c.closed.Load() || errors.Is(err, webrtc.ErrConnectionClosed)
}

// Send sends one message (the transport is not safe for concurrent use).
func (c *Client) Send(m *videov1.SignalRequest) error {
	c.sendMu.Lock()
	defer c.sendMu.Unlock()
	return c.tr.Send(m)
}

// Join sends join and waits for the service's first answer: Joined, or
// the refusal that ended the stream.
func (c *Client) Join(meetingID, token string) error {
	if err := c.Send(&videov1.SignalRequest{Message: &videov1.SignalRequest_Join{Join: &videov1.Join{MeetingId: meetingID, Token: token}}}); err != nil {
		return err
	}
	m, err := c.tr.Recv()
	if err != nil {
		return err
	}
	if m.GetJoined() == nil {
		return fmt.Errorf("videotest: first message is %v, want joined", m)
	}
	c.Joined = m.GetJoined()
	go c.loop()
	return nil
}

func (c *Client) loop() {
	c.sendMu.Lock()
	tr, done := c.tr, c.Done
	c.sendMu.Unlock()
	defer close(done)
	for {
		m, err := tr.Recv()
		if err != nil {
			c.Err = err
			return
		}
		switch msg := m.GetMessage().(type) {
		case *videov1.SignalResponse_Description:
			c.description(msg.Description)
		case *videov1.SignalResponse_Candidate:
			init := webrtc.ICECandidateInit{Candidate: msg.Candidate.GetCandidate()}
			if mid := msg.Candidate.GetSdpMid(); mid != "" {
				init.SDPMid = &mid
			}
			if msg.Candidate.SdpMlineIndex != nil {
				i := uint16(msg.Candidate.GetSdpMlineIndex())
				init.SDPMLineIndex = &i
			}
			if err := c.PC.AddICECandidate(init); err != nil && !c.gone(err) {
				c.tb.Errorf("videotest: service candidate refused: %v", err)
			}
		case *videov1.SignalResponse_Error:
			c.Errors <- msg.Error
		default:
			select {
			case c.Events <- m:
			default:
			}
		}
	}
}

func (c *Client) description(d *videov1.SessionDescription) {
	switch d.GetType() {
	case videov1.SdpType_SDP_TYPE_ANSWER:
		if err := c.PC.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: d.GetSdp()}); err != nil && !c.gone(err) {
			c.tb.Errorf("videotest: answer refused: %v", err)
		}
	case videov1.SdpType_SDP_TYPE_OFFER:
		c.Offers.Add(1)
		if c.holdOffers.Load() || c.closed.Load() {
			return // a client that never answers, or one that has gone
		}
		err := c.PC.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: d.GetSdp()})
		var answer webrtc.SessionDescription
		if err == nil {
			answer, err = c.PC.CreateAnswer(nil)
		}
		if err == nil {
			err = c.PC.SetLocalDescription(answer)
		}
		if err != nil {
			// A client closed by its test (cleanup) may still be sent an
			// offer; that is no failure.
			if !c.gone(err) {
				c.tb.Errorf("videotest: answering the service's offer: %v", err)
			}
			return
		}
		_ = c.Send(&videov1.SignalRequest{Message: &videov1.SignalRequest_Description{Description: &videov1.SessionDescription{
			Type: videov1.SdpType_SDP_TYPE_ANSWER, Sdp: answer.SDP}}})
	}
}

// Resume takes the client's seat back over a new transport after its
// stream broke (Done closed), keeping its connection and tracks.
func (c *Client) Resume(tr Transport, meetingID, token string) error {
	<-c.Done
	c.sendMu.Lock()
	c.tr = tr
	c.sendMu.Unlock()
	if err := c.Send(&videov1.SignalRequest{Message: &videov1.SignalRequest_Join{Join: &videov1.Join{
		MeetingId: meetingID, Token: token, ResumeParticipantId: c.Joined.GetParticipantId()}}}); err != nil {
		return err
	}
	m, err := tr.Recv()
	if err != nil {
		return err
	}
	if m.GetJoined() == nil {
		return fmt.Errorf("videotest: first message after resuming is %v, want joined", m)
	}
	c.Joined = m.GetJoined()
	c.sendMu.Lock()
	c.Done, c.Err = make(chan struct{}), nil
	c.sendMu.Unlock()
	go c.loop()
	return nil
}

// Offer sends the client's offer for its current transceivers.
func (c *Client) Offer() {
	c.tb.Helper()
	c.offer(nil)
}

// RestartICE sends an offer with new ICE credentials, as a client does
// when its network changed.
func (c *Client) RestartICE() {
	c.tb.Helper()
	c.offer(&webrtc.OfferOptions{ICERestart: true})
}

func (c *Client) offer(opts *webrtc.OfferOptions) {
	c.tb.Helper()
	offer, err := c.PC.CreateOffer(opts)
	if err == nil {
		err = c.PC.SetLocalDescription(offer)
	}
	if err != nil {
		c.tb.Fatalf("videotest: offer: %v", err)
	}
	// The mids of the screen-share sections: known once the description
	// is set.
	var screenMids []string
	for _, tr := range c.PC.GetTransceivers() {
		if s := tr.Sender(); s != nil && c.screen != nil && s.Track() == c.screen.Video {
			screenMids = append(screenMids, tr.Mid())
		}
	}
	if err := c.Send(&videov1.SignalRequest{Message: &videov1.SignalRequest_Description{Description: &videov1.SessionDescription{
		Type: videov1.SdpType_SDP_TYPE_OFFER, Sdp: offer.SDP, ScreenMids: screenMids}}}); err != nil {
		c.tb.Fatalf("videotest: send offer: %v", err)
	}
}

// ShareScreen adds a second VP8 track, marked as a screen share in the
// next offer, and starts sending it. Call Offer after.
func (c *Client) ShareScreen() {
	c.tb.Helper()
	c.screen = NewSource(c.tb)
	s, err := c.PC.AddTrack(c.screen.Video)
	if err != nil {
		c.tb.Fatal(err)
	}
	go c.screen.ReadRTCP(s)
	c.screen.Start()
	c.tb.Cleanup(c.screen.Stop)
}

// Watch adds receive-only audio and video sections (a client that only
// watches); call Offer after.
func (c *Client) Watch() {
	c.tb.Helper()
	for _, k := range []webrtc.RTPCodecType{webrtc.RTPCodecTypeAudio, webrtc.RTPCodecTypeVideo} {
		if _, err := c.PC.AddTransceiverFromKind(k, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
			c.tb.Fatal(err)
		}
	}
}

// Publish adds the Source's VP8 camera and Opus microphone tracks and
// starts sending (see Source). Call Offer after.
func (c *Client) Publish() {
	c.tb.Helper()
	vs, err := c.PC.AddTrack(c.Source.Video)
	if err != nil {
		c.tb.Fatal(err)
	}
	as, err := c.PC.AddTrack(c.Source.Audio)
	if err != nil {
		c.tb.Fatal(err)
	}
	c.Source.SetAudioSender(as)
	go c.Source.ReadRTCP(vs)
	c.Source.Start()
}

// StopMedia stops sending (the tracks stay).
func (c *Client) StopMedia() { c.Source.Stop() }

// PLIs counts the keyframe requests that reached the client's camera.
func (c *Client) PLIs() int64 { return c.Source.PLIs.Load() }

// Received returns the tracks that have arrived so far.
func (c *Client) Received() []*Received { return c.Sink.Received() }

// WaitFor polls cond until it holds or Wait passes (then fails the test
// with what).
func (c *Client) WaitFor(what string, cond func() bool) {
	c.tb.Helper()
	deadline := time.Now().Add(Wait)
	for !cond() {
		if time.Now().After(deadline) {
			c.tb.Fatalf("videotest: gave up waiting for %s; %s", what, c.summary())
		}
		select {
		case <-c.Done:
			if !cond() {
				c.tb.Fatalf("videotest: stream ended (%v) while waiting for %s", c.Err, what)
			}
			return
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// summary says what the client has, for failure messages.
func (c *Client) summary() string {
	var b strings.Builder
	fmt.Fprintf(&b, "connection %s, signaling %s, %d offers from the service, tracks:", c.PC.ConnectionState(), c.PC.SignalingState(), c.Offers.Load())
	for _, r := range c.Received() {
		fmt.Fprintf(&b, " [%s %s: %d packets, %d keyframes]", r.Kind, r.ID, r.Packets.Load(), r.Keyframes.Load())
	}
	for _, tr := range c.PC.GetTransceivers() {
		fmt.Fprintf(&b, " {mid %s %s %s}", tr.Mid(), tr.Kind(), tr.Direction())
	}
	return b.String()
}

// Track finds a received track of kind from the publisher participantID.
func (c *Client) Track(kind webrtc.RTPCodecType, participantID string) *Received {
	for _, r := range c.Received() {
		if r.Kind == kind && r.StreamID == participantID {
			return r
		}
	}
	return nil
}

// NextError waits for the next SignalError.
func (c *Client) NextError() *videov1.SignalError {
	c.tb.Helper()
	select {
	case e := <-c.Errors:
		return e
	case <-c.Done:
		c.tb.Fatalf("videotest: stream ended (%v) while waiting for a signaling error", c.Err)
	case <-time.After(Wait):
		c.tb.Fatal("videotest: gave up waiting for a signaling error")
	}
	return nil
}

// NextEvent waits for the next peer notice matching keep.
func (c *Client) NextEvent(keep func(*videov1.SignalResponse) bool) *videov1.SignalResponse {
	c.tb.Helper()
	timeout := time.After(Wait)
	for {
		select {
		case m := <-c.Events:
			if keep(m) {
				return m
			}
		case <-c.Done:
			c.tb.Fatalf("videotest: stream ended (%v) while waiting for an event", c.Err)
		case <-timeout:
			c.tb.Fatal("videotest: gave up waiting for an event")
		}
	}
}

// WaitEnd waits for the service to end the stream and returns why.
func (c *Client) WaitEnd() error {
	c.tb.Helper()
	select {
	case <-c.Done:
		return c.Err
	case <-time.After(Wait):
		c.tb.Fatal("videotest: the stream did not end")
	}
	return errors.New("unreachable")
}

// HoldOffers makes the client stop answering the service's offers.
func (c *Client) HoldOffers() { c.holdOffers.Store(true) }
