package video

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor/pkg/cc"
	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"
	"google.golang.org/grpc/codes"

	videov1 "github.com/ecabinet/ecabinet/proto/gen/ecabinet/video/v1"
)

// outQueue bounds the messages waiting to go to one client; a client that
// falls this far behind is dropped rather than allowed to hold memory.
const outQueue = 512

// maxInbound bounds the client's messages received but not yet handled
// by its actor (see attach).
const maxInbound = 64

// maxEarlyCandidates bounds the client's ICE candidates kept until its
// description arrives.
const maxEarlyCandidates = 64

// maxCandidateBytes bounds one candidate line (real ones are ~100 bytes).
const maxCandidateBytes = 1024

// Why a session ended without a gRPC error.
var (
	errLeft        = errors.New("left")
	errStreamEnded = errors.New("signaling stream ended")
)

// peer is one participant's connection. All signaling for it runs on one
// goroutine (run), fed by do: client messages, tracks to add or remove, and
// timers. That serialises its negotiation: one offer at a time, the next
// only after the answer.
type peer struct {
	s      *Service
	log    *slog.Logger
	id     string
	person string
	name   string
	pc     *webrtc.PeerConnection
	out    chan *videov1.SignalResponse
	ctx    context.Context
	end    context.CancelCauseFunc

	room *room // set by rooms.admit
	// gone is closed once p's departure is complete (seat freed, tracks
	// removed, row deleted) or p was never seated.
	gone chan struct{}

	qmu   sync.Mutex
	queue []func()
	wake  chan struct{}
	// inbound holds a token per client message queued for the actor.
	inbound chan struct{}

	// The signaling stream attached now; gen counts attachments.
	sessMu sync.Mutex
	detach context.CancelCauseFunc
	gen    int

	// Guarded by room.mu.
	started   bool // first offer answered: receives the room's tracks
	media     *videov1.MediaState
	hand      bool
	perms     *videov1.JoinPermissions // changed by SetPermissions
	published []*published             // everything p sent, forwarded or not

	// Guarded by smu: written on the actor, read by OnTrack.
	smu        sync.Mutex
	screenMids map[string]bool
	// byReceiver: the tracks being published, by their receiver, so the
	// further encodings of a simulcast track join the first (pion reports
	// each as a track of its own).
	byReceiver map[*webrtc.RTPReceiver]*published

	// bwe estimates what the SFU can send to the client (its transport
	// feedback); nil if the connection has no estimator.
	bwe cc.BandwidthEstimator

	// Actor-only.
	awaitingAnswer bool
	needOffer      bool
	offerGen       int
	early          []webrtc.ICECandidateInit
	subs           map[*published]*webrtc.RTPSender
	choosers       map[*published]*layerChooser
	views          viewSizes
}

// newPeer makes a participant's connection. Its life is its own, not the
// signaling stream's: it ends by p.end.
func (s *Service) newPeer(e *engine, tok joinToken) (*peer, error) {
	pc, err := e.api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return nil, fmt.Errorf("peer connection: %w", err)
	}
	ctx, end := context.WithCancelCause(context.Background())
	id := newID()
	p := &peer{
		s: s, id: id, person: tok.personID, name: tok.name, perms: tok.perms, pc: pc,
		log:  s.log.With("meeting_id", tok.meetingID, "participant_id", id, "person_id", tok.personID),
		out:  make(chan *videov1.SignalResponse, outQueue),
		ctx:  ctx,
		end:  end,
		wake: make(chan struct{}, 1),
		gone: make(chan struct{}),

		inbound: make(chan struct{}, maxInbound),
		media: &videov1.MediaState{
			AudioMuted: !tok.perms.GetPublishAudio(),
			CameraOff:  !tok.perms.GetPublishVideo(),
		},
		screenMids: map[string]bool{},
		byReceiver: map[*webrtc.RTPReceiver]*published{},
		subs:       map[*published]*webrtc.RTPSender{},
		choosers:   map[*published]*layerChooser{},
		bwe:        takeEstimator(pc.ID()),
	}
	pc.OnICECandidate(func(c *webrtc.ICECandidate) {
		if c == nil {
			return
		}
		// Through the actor, so a candidate never overtakes the
		// description it belongs to.
		init := c.ToJSON()
		p.do(func() {
			p.send(&videov1.SignalResponse{Message: &videov1.SignalResponse_Candidate{Candidate: candidateProto(init)}})
		})
	})
	var wasConnected atomic.Bool
	// A Wi-Fi drop fails ICE after iceFailed without packets — often
	// before the tablet is back. The seat is kept for the resume grace, as
	// for a broken signaling stream: the client restarts ICE when it is
	// back (over the same stream, or after resuming the seat), and only a
	// connection that has not recovered by then ends it.
	var lostMu sync.Mutex
	var lost *time.Timer
	// stopLost stops the grace timer, if it runs; it reports whether it did.
	stopLost := func() bool {
		lostMu.Lock()
		defer lostMu.Unlock()
		if lost == nil {
			return false
		}
		lost.Stop()
		lost = nil
		return true
	}
	pc.OnConnectionStateChange(func(st webrtc.PeerConnectionState) {
		p.log.Debug("video: connection state", "state", st.String())
		switch st {
		case webrtc.PeerConnectionStateConnected:
			wasConnected.Store(true)
			if stopLost() {
				p.log.Info("video: media connection recovered")
			}
			// Subscriptions negotiated before DTLS was up may have missed
			// the keyframe asked for then.
			p.do(p.requestAllKeyframes)
		case webrtc.PeerConnectionStateFailed:
			grace := p.s.cfg.ResumeGrace
			lostMu.Lock()
			if lost == nil {
				p.log.Info("video: media connection lost; keeping the seat", "grace", grace)
				lost = time.AfterFunc(grace, func() {
					lostMu.Lock()
					lost = nil
					lostMu.Unlock()
					if pc.ConnectionState() != webrtc.PeerConnectionStateConnected {
						p.end(refusal(codes.Unavailable, ReasonConnectionLost,
							"the media connection was lost (ICE failed) and did not come back within %s", grace))
					}
				})
			}
			lostMu.Unlock()
		case webrtc.PeerConnectionStateClosed:
			// The client closed its side (DTLS close_notify) — possibly
			// before this side saw "connected", when the client closes right
			// after its own side connected. After leave, p has ended
			// already and this does nothing. Either way the grace is over.
			stopLost()
			p.end(refusal(codes.Unavailable, ReasonConnectionLost, "the client closed its media connection"))
		case webrtc.PeerConnectionStateNew:
			// pion may also report a client's close as the transports
			// closed, i.e. "new" — which is also where every connection
			// starts, hence the guard.
			if wasConnected.Load() {
				p.end(refusal(codes.Unavailable, ReasonConnectionLost, "the client closed its media connection"))
			}
		}
	})
	pc.OnTrack(func(remote *webrtc.TrackRemote, recv *webrtc.RTPReceiver) { p.publish(remote, recv) })
	return p, nil
}

// describe is p as others see it. Call with p.room.mu held (or before p is
// in a room).
func (p *peer) describe() *videov1.Peer {
	return &videov1.Peer{ParticipantId: p.id, PersonId: p.person, DisplayName: p.name, Permissions: p.perms, MediaState: p.media,
		HandRaised: p.hand}
}

// takeSession makes the caller's stream the one p signals over, detaching
// the one before (a client resuming while its old stream still looks
// alive), and returns the attachment's number.
func (p *peer) takeSession(detach context.CancelCauseFunc) int {
	p.sessMu.Lock()
	defer p.sessMu.Unlock()
	if p.detach != nil {
		p.detach(errReplaced)
	}
	p.detach = detach
	p.gen++
	return p.gen
}

// sessionGen is the number of the current attachment.
func (p *peer) sessionGen() int {
	p.sessMu.Lock()
	defer p.sessMu.Unlock()
	return p.gen
}

// do runs f on p's actor. It never blocks, so it is safe under any lock.
func (p *peer) do(f func()) {
	p.qmu.Lock()
	p.queue = append(p.queue, f)
	p.qmu.Unlock()
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// run is p's actor; it returns when p ends.
func (p *peer) run() {
	for {
		select {
		case <-p.ctx.Done():
			return
		case <-p.wake:
		}
		p.qmu.Lock()
		work := p.queue
		p.queue = nil
		p.qmu.Unlock()
		for _, f := range work {
			if p.ctx.Err() != nil {
				return
			}
			f()
		}
	}
}

// send queues a message for the client.
func (p *peer) send(m *videov1.SignalResponse) {
	select {
	case p.out <- m:
	default:
		p.end(refusal(codes.ResourceExhausted, ReasonSlowClient, "the client does not read its signaling messages"))
	}
}

func (p *peer) sendError(err error) {
	var se *signalError
	if !errors.As(err, &se) {
		se = &signalError{reason: ReasonUnexpected, msg: err.Error()}
	}
	p.log.Debug("video: signaling error", "reason", se.reason, "err", se.msg)
	p.send(&videov1.SignalResponse{Message: &videov1.SignalResponse_Error{Error: se.proto()}})
}

// handle dispatches one client message on the actor.
func (p *peer) handle(m *videov1.SignalRequest) {
	switch msg := m.GetMessage().(type) {
	case *videov1.SignalRequest_Description:
		switch msg.Description.GetType() {
		case videov1.SdpType_SDP_TYPE_OFFER:
			p.handleOffer(msg.Description)
		case videov1.SdpType_SDP_TYPE_ANSWER:
			p.handleAnswer(msg.Description)
		default:
			p.sendError(&signalError{ReasonInvalidSDP, "description.type", "must be SDP_TYPE_OFFER or SDP_TYPE_ANSWER"})
		}
	case *videov1.SignalRequest_Candidate:
		p.handleCandidate(msg.Candidate)
	case *videov1.SignalRequest_MediaState:
		ms := &videov1.MediaState{AudioMuted: msg.MediaState.GetAudioMuted(), CameraOff: msg.MediaState.GetCameraOff()}
		for _, o := range p.room.setMedia(p, ms) {
			o.do(func() {
				o.send(&videov1.SignalResponse{Message: &videov1.SignalResponse_PeerMediaState{
					PeerMediaState: &videov1.PeerMediaState{ParticipantId: p.id, MediaState: ms}}})
			})
		}
	case *videov1.SignalRequest_RaiseHand:
		raised := msg.RaiseHand.GetRaised()
		for _, o := range p.room.setHand(p, raised) {
			o.do(func() {
				o.send(&videov1.SignalResponse{Message: &videov1.SignalResponse_PeerHand{
					PeerHand: &videov1.PeerHand{ParticipantId: p.id, Raised: raised}}})
			})
		}
	case *videov1.SignalRequest_ViewSize:
		p.handleViewSize(msg.ViewSize)
	case *videov1.SignalRequest_Leave:
		p.end(errLeft)
	case *videov1.SignalRequest_Join:
		p.sendError(&signalError{ReasonAlreadyJoined, "join", "this session has already joined; open a new one to join again"})
	default:
		p.sendError(&signalError{ReasonUnexpected, "message", "empty or unknown message"})
	}
}

func (p *peer) handleOffer(d *videov1.SessionDescription) {
	if p.awaitingAnswer || p.pc.SignalingState() != webrtc.SignalingStateStable {
		// The service is the impolite side of perfect negotiation: its
		// own offer stands, the client answers it and offers again.
		p.sendError(&signalError{ReasonOfferCollision, "description",
			"an offer from the service is waiting for your answer; answer it, then send your offer again"})
		return
	}
	if err := checkOffer(d.GetSdp(), d.GetScreenMids(), p.room.permissions(p)); err != nil {
		p.sendError(err)
		return
	}
	p.smu.Lock()
	for _, mid := range d.GetScreenMids() {
		p.screenMids[mid] = true
	}
	p.smu.Unlock()
	if err := p.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: d.GetSdp()}); err != nil {
		p.sendError(&signalError{ReasonInvalidSDP, "description.sdp", "the offer was refused: " + err.Error()})
		return
	}
	p.applyEarlyCandidates()
	answer, err := p.pc.CreateAnswer(nil)
	if err == nil {
		err = p.pc.SetLocalDescription(answer)
	}
	if err != nil {
		_ = p.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeRollback})
		p.sendError(&signalError{ReasonInvalidSDP, "description.sdp", "no answer can be made to the offer: " + err.Error()})
		return
	}
	p.send(&videov1.SignalResponse{Message: &videov1.SignalResponse_Description{Description: &videov1.SessionDescription{
		Type: videov1.SdpType_SDP_TYPE_ANSWER, Sdp: answer.SDP}}})
	// The room's tracks so far, in one offer.
	for _, t := range p.room.start(p) {
		p.addSubscription(t)
	}
	if p.needOffer {
		p.negotiate()
	}
}

func (p *peer) handleAnswer(d *videov1.SessionDescription) {
	if !p.awaitingAnswer {
		p.sendError(&signalError{ReasonUnexpected, "description.type", "an answer came, but no offer from the service is waiting for one"})
		return
	}
	if strings.TrimSpace(d.GetSdp()) == "" || len(d.GetSdp()) > maxSDPBytes {
		p.sendError(&signalError{ReasonInvalidSDP, "description.sdp", fmt.Sprintf("the answer is empty or longer than %d bytes", maxSDPBytes)})
		return
	}
	if err := p.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: d.GetSdp()}); err != nil {
		// The offer stays open (and its time-out running): the client may
		// still send a correct answer.
		p.sendError(&signalError{ReasonInvalidSDP, "description.sdp", "the answer was refused: " + err.Error()})
		return
	}
	p.awaitingAnswer = false
	p.offerGen++
	p.applyEarlyCandidates()
	if p.needOffer {
		p.negotiate()
	}
}

func (p *peer) handleCandidate(c *videov1.IceCandidate) {
	raw := strings.TrimSpace(c.GetCandidate())
	if raw == "" {
		return // end of candidates: nothing to do with ICE on one port
	}
	if len(raw) > maxCandidateBytes {
		p.sendError(&signalError{ReasonInvalidCandidate, "candidate.candidate", fmt.Sprintf("longer than %d bytes", maxCandidateBytes)})
		return
	}
	if _, err := ice.UnmarshalCandidate(raw); err != nil {
		p.sendError(&signalError{ReasonInvalidCandidate, "candidate.candidate", "not an ICE candidate: " + err.Error()})
		return
	}
	init := webrtc.ICECandidateInit{Candidate: raw}
	if c.SdpMlineIndex != nil {
		if c.GetSdpMlineIndex() > 0xffff {
			p.sendError(&signalError{ReasonInvalidCandidate, "candidate.sdp_mline_index", "is not a media section index"})
			return
		}
		i := uint16(c.GetSdpMlineIndex())
		init.SDPMLineIndex = &i
	}
	if c.GetSdpMid() != "" {
		mid := c.GetSdpMid()
		init.SDPMid = &mid
	}
	if c.GetUsernameFragment() != "" {
		u := c.GetUsernameFragment()
		init.UsernameFragment = &u
	}
	if p.pc.RemoteDescription() == nil {
		// Trickled before the description it belongs to arrived (the two
		// race in clients); kept until then.
		if len(p.early) >= maxEarlyCandidates {
			p.sendError(&signalError{ReasonUnexpected, "candidate",
				fmt.Sprintf("more than %d candidates before any session description", maxEarlyCandidates)})
			return
		}
		p.early = append(p.early, init)
		return
	}
	if err := p.pc.AddICECandidate(init); err != nil {
		p.sendError(&signalError{ReasonInvalidCandidate, "candidate", "the candidate was refused: " + err.Error()})
	}
}

func (p *peer) applyEarlyCandidates() {
	for _, c := range p.early {
		if err := p.pc.AddICECandidate(c); err != nil {
			p.sendError(&signalError{ReasonInvalidCandidate, "candidate", "the candidate was refused: " + err.Error()})
		}
	}
	p.early = nil
}

// negotiate sends the client an offer for the current tracks, or notes
// that one is needed once the exchange in progress is over.
func (p *peer) negotiate() {
	if !p.started || p.awaitingAnswer || p.pc.SignalingState() != webrtc.SignalingStateStable {
		p.needOffer = true
		return
	}
	p.needOffer = false
	offer, err := p.pc.CreateOffer(nil)
	if err == nil {
		err = p.pc.SetLocalDescription(offer)
	}
	if err != nil {
		p.log.Error("video: cannot make an offer", "err", err)
		p.end(refusal(codes.Internal, "OFFER_FAILED", "the service could not renegotiate the connection"))
		return
	}
	p.awaitingAnswer = true
	p.offerGen++
	gen := p.offerGen
	p.send(&videov1.SignalResponse{Message: &videov1.SignalResponse_Description{Description: &videov1.SessionDescription{
		Type: videov1.SdpType_SDP_TYPE_OFFER, Sdp: offer.SDP}}})
	timeout := p.s.cfg.OfferTimeout
	time.AfterFunc(timeout, func() {
		p.do(func() {
			if p.awaitingAnswer && p.offerGen == gen {
				p.end(refusal(codes.DeadlineExceeded, ReasonOfferTimeout, "the offer was not answered within %s", timeout))
			}
		})
	})
}

// subscribe starts sending t to p.
func (p *peer) subscribe(t *published) {
	if p.addSubscription(t) {
		p.negotiate()
	}
}

// addSubscription adds t to p's connection without negotiating.
func (p *peer) addSubscription(t *published) bool {
	if _, ok := p.subs[t]; ok {
		return false
	}
	sender, err := p.pc.AddTrack(t.local)
	if err != nil {
		p.log.Warn("video: cannot add track", "track", t.local.ID(), "err", err)
		return false
	}
	p.subs[t] = sender
	go t.readRTCP(sender)
	p.needOffer = true
	return true
}

// unsubscribe stops sending t to p.
func (p *peer) unsubscribe(t *published) {
	sender, ok := p.subs[t]
	if !ok {
		return
	}
	delete(p.subs, t)
	delete(p.choosers, t)
	_ = p.pc.RemoveTrack(sender)
	p.negotiate()
}

func (p *peer) requestAllKeyframes() {
	for t, sender := range p.subs {
		if !t.video() {
			continue
		}
		layer := 0
		if enc := sender.GetParameters().Encodings; len(enc) > 0 {
			layer = t.local.layerOf(uint32(enc[0].SSRC))
		}
		t.requestKeyframe(layer)
	}
}

// publish handles a track p sends: checked against the join token, then
// forwarded to the room. A simulcast track comes as one call per encoding
// (layer); the first makes the track, the others join it, and the track
// ends when all have ended.
func (p *peer) publish(remote *webrtc.TrackRemote, recv *webrtc.RTPReceiver) {
	source := sourceMicrophone
	if remote.Kind() == webrtc.RTPCodecTypeVideo {
		source = sourceCamera
		mid := ""
		for _, tr := range p.pc.GetTransceivers() {
			if tr.Receiver() == recv {
				mid = tr.Mid()
			}
		}
		p.smu.Lock()
		if p.screenMids[mid] {
			source = sourceScreen
		}
		p.smu.Unlock()
	}
	if !mayPublish(p.room.permissions(p), source) {
		// checkOffer refuses such offers; this is the second line.
		p.log.Warn("video: track refused", "source", source)
		_ = recv.Stop()
		return
	}
	l := &layer{rid: remote.RID(), remote: remote}
	if remote.Kind() == webrtc.RTPCodecTypeVideo {
		send := pli(p.pc, remote.SSRC())
		l.kf = newKeyframes(keyframeInterval, func() {
			p.s.m.keyframes.Inc()
			send()
		})
	}
	p.smu.Lock()
	if t := p.byReceiver[recv]; t != nil && t.live > 0 {
		// Another encoding of a track already forwarded.
		t.addLayer(l)
		p.smu.Unlock()
		p.log.Debug("video: simulcast layer", "source", source, "rid", l.rid, "layer", l.idx)
		t.forward(l)
		p.layerEnded(t, recv)
		return
	}
	local, err := webrtc.NewTrackLocalStaticRTP(remote.Codec().RTPCodecCapability,
		source+"-"+p.id+"-"+remote.ID(), p.id)
	if err != nil {
		p.smu.Unlock()
		p.log.Error("video: cannot forward track", "err", err)
		return
	}
	t := &published{owner: p, source: source, remote: remote, local: newFanOut(local, p.s.m)}
	if l.kf != nil {
		// For the recording: on the layer it records (each layer's own
		// requests are throttled too).
		t.kf = newKeyframes(keyframeInterval, func() {
			if w := t.rec.Load(); w != nil {
				t.requestKeyframe(t.recordedLayer(w))
			} else {
				t.requestKeyframe(0)
			}
		})
	}
	t.addLayer(l)
	p.byReceiver[recv] = t
	p.smu.Unlock()
	if remote.Kind() == webrtc.RTPCodecTypeAudio {
		for _, ext := range recv.GetParameters().HeaderExtensions {
			if ext.URI == sdp.AudioLevelURI {
				t.levelID = uint8(ext.ID)
			}
		}
	}
	if t.video() {
		// A new subscriber starts on the lowest layer sending (its
		// keyframe is the smallest, so the first picture comes soonest)
		// and is moved up at its first layer choice, half a second later.
		t.local.startLayer = t.startLayer
		t.local.onBind = t.requestKeyframe
		t.local.onKey = t.noteKeyframe
		t.local.onDrop = t.requestKeyframe
	}
	p.log.Debug("video: publishing", "source", source, "codec", remote.Codec().MimeType, "rid", l.rid)
	for _, o := range p.room.addTrack(t) {
		o.do(func() { o.subscribe(t) })
	}
	if rec := p.s.recording(p.room.meetingID); rec != nil {
		rec.add(t)
	}
	t.forward(l)
	p.layerEnded(t, recv)
}

// layerEnded notes that one of t's layers ended; after the last, t leaves
// the room.
func (p *peer) layerEnded(t *published, recv *webrtc.RTPReceiver) {
	p.smu.Lock()
	t.live--
	last := t.live == 0
	if last && p.byReceiver[recv] == t {
		delete(p.byReceiver, recv)
	}
	p.smu.Unlock()
	if !last {
		return
	}
	t.local.closeAll()
	for _, o := range p.room.removeTrack(t) {
		o.do(func() { o.unsubscribe(t) })
	}
}

func candidateProto(c webrtc.ICECandidateInit) *videov1.IceCandidate {
	out := &videov1.IceCandidate{Candidate: c.Candidate}
	if c.SDPMLineIndex != nil {
		i := uint32(*c.SDPMLineIndex)
		out.SdpMlineIndex = &i
	}
	if c.SDPMid != nil {
		out.SdpMid = *c.SDPMid
	}
	if c.UsernameFragment != nil {
		out.UsernameFragment = *c.UsernameFragment
	}
	return out
}
