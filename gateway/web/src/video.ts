// The video room client (ADR 0004): a join token from the REST API, the signaling WebSocket
// of the meeting, and one RTCPeerConnection that carries what this device publishes and
// everything it receives from the SFU. No UI here: the page renders the state this emits.
//
// Negotiation follows "perfect negotiation" with the service as the impolite side: this
// client offers when its own tracks change (negotiationneeded), answers the service's offers
// (tracks of others come and go), and on a collision gives up its own offer (the service
// answers it with OFFER_COLLISION) and offers again afterwards. All descriptions and
// candidates are applied one after the other on one promise chain, so nothing interleaves.
//
// After the WebSocket drops (the Wi-Fi went), the client reconnects with backoff and joins
// with resumeParticipantId: the service keeps the seat (and media) for its grace period;
// the client then restarts ICE, since the network under it may have changed. When the seat
// is gone (RESUME_UNKNOWN) it joins afresh with a new connection.
import { ApiError, request, seg } from './api';
import { arr, bool, obj, str } from './model';

export interface Permissions {
  publishAudio: boolean;
  publishVideo: boolean;
  publishScreen: boolean;
}

export interface JoinToken {
  token: string;
  permissions: Permissions;
  iceServers: RTCIceServer[];
}

export interface Room {
  meetingId: string;
  organizationId: string;
  mode: string;
  state: string;
  participantCount: number;
}

export interface Peer {
  participantId: string;
  personId: string;
  displayName: string;
  permissions: Permissions;
  audioMuted: boolean;
  cameraOff: boolean;
  handRaised: boolean;
}

export type Source = 'camera' | 'microphone' | 'screen' | 'other';

/** One track the SFU forwards to this device. */
export interface RemoteMedia {
  mid: string;
  participantId: string;
  kind: 'audio' | 'video';
  source: Source;
  track: MediaStreamTrack;
}

export type Phase = 'starting' | 'joining' | 'connected' | 'reconnecting' | 'ended';

export type Quality = 'good' | 'fair' | 'poor' | 'unknown';

export interface QualityInfo {
  level: Quality;
  /** Round trip to the SFU in ms, when known. */
  rttMs: number | null;
  /** Packets lost among those expected since the last sample, 0..1. */
  loss: number | null;
}

export interface EndInfo {
  code: string;
  reason: string;
  message: string;
}

export interface SessionState {
  phase: Phase;
  participantId: string;
  permissions: Permissions;
  peers: Peer[];
  remote: RemoteMedia[];
  localCamera: MediaStreamTrack | null;
  localScreen: MediaStreamTrack | null;
  audioMuted: boolean;
  cameraOff: boolean;
  sharing: boolean;
  handRaised: boolean;
  /** Participant id of who speaks now ('' when nobody, or not known yet). */
  activeSpeaker: string;
  /** The media connection's state (RTCPeerConnectionState), 'new' before there is one. */
  media: RTCPeerConnectionState;
  quality: QualityInfo;
  /** The last problem the service reported for one of our messages (the session went on). */
  error: { reason: string; message: string } | null;
  /** Devices that could not be opened ("camera", "microphone", "screen"). */
  deviceProblems: string[];
  /** Why the session ended (phase 'ended'), or why the last connection ended (reconnecting). */
  end: EndInfo | null;
  reconnects: number;
  /**
   * Whether the room is being recorded (everyone is told), since when (ISO time), and how many
   * recorded files have not reached the meeting's documents yet.
   */
  recording: { on: boolean; since: string; undelivered: number };
}

const NO_PERMISSIONS: Permissions = { publishAudio: false, publishVideo: false, publishScreen: false };

function recordingFrom(v: unknown): SessionState['recording'] {
  const r = obj(v);
  return { on: bool(r.on), since: str(r.startTime), undelivered: typeof r.undeliveredFiles === 'number' ? r.undeliveredFiles : 0 };
}

/** True when the token lets its holder publish nothing: an observer (or a bridge point). */
export function watchOnly(p: Permissions): boolean {
  return !p.publishAudio && !p.publishVideo && !p.publishScreen;
}

export function permissionsFrom(v: unknown): Permissions {
  const o = obj(v);
  return { publishAudio: bool(o.publishAudio), publishVideo: bool(o.publishVideo), publishScreen: bool(o.publishScreen) };
}

export function roomFrom(v: unknown): Room {
  const r = obj(obj(v).room);
  return {
    meetingId: str(r.meetingId),
    organizationId: str(r.organizationId),
    mode: str(r.mode),
    state: str(r.state),
    participantCount: typeof r.participantCount === 'number' ? r.participantCount : 0,
  };
}

export function tokenFrom(v: unknown): JoinToken {
  const o = obj(v);
  const iceServers: RTCIceServer[] = arr(o.iceServers).map((s) => {
    const so = obj(s);
    return { urls: arr(so.urls).map(str), username: str(so.username), credential: str(so.credential) };
  });
  return { token: str(o.token), permissions: permissionsFrom(o.permissions), iceServers };
}

export function peerFrom(v: unknown): Peer {
  const p = obj(v);
  const ms = obj(p.mediaState);
  return {
    participantId: str(p.participantId),
    personId: str(p.personId),
    displayName: str(p.displayName),
    permissions: permissionsFrom(p.permissions),
    audioMuted: bool(ms.audioMuted),
    cameraOff: bool(ms.cameraOff),
    handRaised: bool(p.handRaised),
  };
}

/** The meeting's room, or null when none has been opened (404). */
export async function fetchRoom(meetingId: string, signal?: AbortSignal): Promise<Room | null> {
  try {
    return roomFrom(await request('GET', `/api/v1/meetings/${seg(meetingId)}/room`, undefined, { signal }));
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) return null;
    throw err;
  }
}

export async function openRoom(meetingId: string, organizationId: string): Promise<Room> {
  return roomFrom(await request('POST', `/api/v1/meetings/${seg(meetingId)}/room`, { organizationId, mode: 'ROOM_MODE_MEETING' }));
}

export function fetchJoinToken(meetingId: string): Promise<JoinToken> {
  return request('POST', `/api/v1/meetings/${seg(meetingId)}/video/join-token`, {}).then(tokenFrom);
}

/** One media section of an SDP as far as this client needs it. */
export interface SdpMedia {
  mid: string;
  kind: string;
  direction: string;
  streamId: string;
  trackId: string;
}

// parseSdpMedia reads mid, kind, direction and msid of each m= section. The browser's remote
// track ids are its own (not the msid's), so the publisher (stream id) and the source (track
// id prefix) are read from the description the service sent.
export function parseSdpMedia(sdp: string): SdpMedia[] {
  const out: SdpMedia[] = [];
  let cur: SdpMedia | null = null;
  for (const raw of sdp.split(/\r?\n/)) {
    const line = raw.trim();
    if (line.startsWith('m=')) {
      cur = { mid: '', kind: line.slice(2).split(' ')[0], direction: 'sendrecv', streamId: '', trackId: '' };
      out.push(cur);
    } else if (cur) {
      if (line.startsWith('a=mid:')) cur.mid = line.slice(6);
      else if (/^a=(sendrecv|sendonly|recvonly|inactive)$/.test(line)) cur.direction = line.slice(2);
      else if (line.startsWith('a=msid:')) {
        const [stream, track] = line.slice(7).split(' ');
        cur.streamId = stream ?? '';
        cur.trackId = track ?? '';
      }
    }
  }
  return out;
}

export function sourceOf(trackId: string): Source {
  if (trackId.startsWith('camera-')) return 'camera';
  if (trackId.startsWith('microphone-')) return 'microphone';
  if (trackId.startsWith('screen-')) return 'screen';
  return 'other';
}

/** Connection quality from loss and round trip, with the thresholds users notice. */
export function qualityOf(connected: boolean, loss: number | null, rttMs: number | null): Quality {
  if (!connected) return 'unknown';
  if ((loss !== null && loss > 0.08) || (rttMs !== null && rttMs > 500)) return 'poor';
  if ((loss !== null && loss > 0.02) || (rttMs !== null && rttMs > 250)) return 'fair';
  return 'good';
}

// End reasons after which trying again cannot help: the session stays ended and says why.
const FINAL_CODES = new Set(['OK', 'PERMISSION_DENIED', 'NOT_FOUND', 'FAILED_PRECONDITION', 'RESOURCE_EXHAUSTED', 'INVALID_ARGUMENT', 'UNAUTHENTICATED']);
// …except these, which a fresh token or a fresh join fixes.
const RETRY_REASONS = new Set(['JOIN_TOKEN_EXPIRED', 'RESUME_UNKNOWN']);

const STATS_INTERVAL_MS = 2000;
/** How long a tile's size must hold before it is reported (a window being resized). */
export const VIEW_SIZE_DEBOUNCE_MS = 300;
const MAX_RETRY_MS = 10_000;
/** How long media may stay "disconnected" before the client restarts ICE itself. */
const ICE_RESTART_AFTER_MS = 4000;
// Audio level (0..1, from getStats) above which a remote participant counts as speaking, for
// the fallback when the service sends no activeSpeaker.
const SPEAKING_LEVEL = 0.05;

export interface SessionOptions {
  meetingId: string;
  onChange: (s: SessionState) => void;
  /** Injected for the page: the REST call by default. */
  getToken?: (meetingId: string) => Promise<JoinToken>;
  /** The signaling URL; by default the gateway's on this origin. */
  signalUrl?: string;
}

export class VideoSession {
  private readonly opts: SessionOptions;
  private st: SessionState;
  private ws: WebSocket | null = null;
  // Counts connect attempts; only the latest may open a socket.
  private attempts = 0;
  private pc: RTCPeerConnection | null = null;
  private chain: Promise<void> = Promise.resolve();
  private makingOffer = false;
  private audioTx: RTCRtpTransceiver | null = null;
  private cameraTx: RTCRtpTransceiver | null = null;
  private screenTx: RTCRtpTransceiver | null = null;
  private localStream = new MediaStream();
  private screenStream = new MediaStream();
  private micTrack: MediaStreamTrack | null = null;
  private iceServers: RTCIceServer[] = [];
  private retryTimer: number | undefined;
  private iceTimer: number | undefined;
  private statsTimer: number | undefined;
  private retryDelay = 1000;
  private closed = false;
  private serverSpeaker = false;
  private lastInbound = { lost: 0, received: 0 };
  // The height each remote tile is shown at, by `participantId source`, as last told to the
  // service (ViewSize: it sends a camera's smallest simulcast layer at least that tall).
  private viewSizes = new Map<string, { participantId: string; source: 'camera' | 'screen'; height: number }>();
  // A dropped Wi-Fi can leave the socket looking open until TCP gives up; the browser knows
  // sooner. Closing it starts the reconnect (the seat is kept meanwhile).
  private readonly onOffline = () => {
    this.ws?.close();
  };
  private readonly onOnline = () => {
    if (this.st.phase === 'reconnecting') {
      window.clearTimeout(this.retryTimer);
      void this.connect();
    }
  };

  constructor(opts: SessionOptions) {
    this.opts = opts;
    this.st = {
      phase: 'starting',
      participantId: '',
      permissions: NO_PERMISSIONS,
      peers: [],
      remote: [],
      localCamera: null,
      localScreen: null,
      audioMuted: false,
      cameraOff: false,
      sharing: false,
      handRaised: false,
      activeSpeaker: '',
      media: 'new',
      quality: { level: 'unknown', rttMs: null, loss: null },
      error: null,
      deviceProblems: [],
      end: null,
      reconnects: 0,
      recording: { on: false, since: '', undelivered: 0 },
    };
  }

  get state(): SessionState {
    return this.st;
  }

  start(): void {
    window.addEventListener('online', this.onOnline);
    window.addEventListener('offline', this.onOffline);
    this.statsTimer = window.setInterval(() => void this.sampleStats(), STATS_INTERVAL_MS);
    void this.connect();
  }

  /** Leaves the room (the seat is freed at once) and stops every device. */
  leave(): void {
    if (this.closed) return;
    this.send({ leave: {} });
    this.finish({ code: 'OK', reason: 'LEFT', message: '' });
  }

  toggleMute(): void {
    if (!this.micTrack) return;
    const muted = !this.st.audioMuted;
    if (this.micTrack) this.micTrack.enabled = !muted;
    this.set({ audioMuted: muted });
    this.sendMediaState();
  }

  async toggleCamera(): Promise<void> {
    if (!this.cameraTx || !this.st.permissions.publishVideo) return;
    if (!this.st.cameraOff) {
      // Stopped, not just disabled, so that the camera's light goes off.
      await this.cameraTx.sender.replaceTrack(null);
      this.st.localCamera?.stop();
      this.set({ cameraOff: true, localCamera: null });
    } else {
      const track = await this.openDevice('camera');
      if (!track) return;
      this.localStream.getVideoTracks().forEach((t) => this.localStream.removeTrack(t));
      this.localStream.addTrack(track);
      await this.cameraTx.sender.replaceTrack(track);
      this.set({ cameraOff: false, localCamera: track });
    }
    this.sendMediaState();
  }

  async toggleScreen(): Promise<void> {
    if (this.st.sharing) {
      await this.stopScreen();
      return;
    }
    if (!this.pc || !this.st.permissions.publishScreen) return;
    let track: MediaStreamTrack;
    try {
      const stream = await navigator.mediaDevices.getDisplayMedia({ video: true, audio: false });
      track = stream.getVideoTracks()[0];
    } catch {
      // Cancelled in the browser's picker, or not allowed: nothing to share.
      this.noteDevice('screen', true);
      return;
    }
    this.noteDevice('screen', false);
    track.contentHint = 'detail';
    // Sharing stopped from the browser's own bar.
    track.addEventListener('ended', () => void this.stopScreen());
    this.screenStream.getTracks().forEach((t) => this.screenStream.removeTrack(t));
    this.screenStream.addTrack(track);
    if (this.screenTx) {
      await this.screenTx.sender.replaceTrack(track);
      this.screenTx.direction = 'sendonly';
    } else {
      this.screenTx = this.pc.addTransceiver(track, { direction: 'sendonly', streams: [this.screenStream] });
    }
    this.set({ sharing: true, localScreen: track });
  }

  private async stopScreen(): Promise<void> {
    if (!this.st.sharing) return;
    this.st.localScreen?.stop();
    if (this.screenTx && this.pc?.signalingState !== 'closed') {
      await this.screenTx.sender.replaceTrack(null);
      // Inactive rather than removed: the next share reuses the section (and its mid).
      this.screenTx.direction = 'inactive';
    }
    this.set({ sharing: false, localScreen: null });
  }

  /**
   * Tells the service how tall (device pixels) a remote source is shown, so a thumbnail is
   * not sent the full picture. Sent only when it changed, or when `again` (a new track: the
   * service forgets the size of a track that ended). A size that could not be sent (the
   * socket is down) goes with the next connection.
   */
  setViewSize(participantId: string, source: 'camera' | 'screen', height: number, again = false): void {
    const h = Math.max(0, Math.round(height));
    const key = `${participantId} ${source}`;
    if (!again && this.viewSizes.get(key)?.height === h) return;
    this.viewSizes.set(key, { participantId, source, height: h });
    this.send({ viewSize: { participantId, source, height: h } });
  }

  raiseHand(): void {
    const raised = !this.st.handRaised;
    this.send({ raiseHand: { raised } });
    this.set({ handRaised: raised });
  }

  // ---- signaling --------------------------------------------------------------------

  private set(patch: Partial<SessionState>): void {
    this.st = { ...this.st, ...patch };
    this.opts.onChange(this.st);
  }

  private send(msg: unknown): void {
    if (this.ws?.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(msg));
  }

  private signalUrl(): string {
    if (this.opts.signalUrl) return this.opts.signalUrl;
    const scheme = window.location.protocol === 'https:' ? 'wss' : 'ws';
    return `${scheme}://${window.location.host}/api/v1/meetings/${seg(this.opts.meetingId)}/video/signal`;
  }

  private async connect(): Promise<void> {
    if (this.closed) return;
    // One attempt at a time: coming back online while an earlier attempt still waits for
    // its token would otherwise open two sockets, and the later join would end the other
    // (SESSION_REPLACED) — possibly the one this session keeps.
    const attempt = ++this.attempts;
    const resume = this.st.participantId !== '' && this.pc !== null;
    this.set({ phase: resume ? 'reconnecting' : 'joining' });
    let token: JoinToken;
    try {
      token = await (this.opts.getToken ?? fetchJoinToken)(this.opts.meetingId);
    } catch (err) {
      if (this.closed || attempt !== this.attempts) return;
      // The network or the service is down: try again. Anything else (not a participant,
      // no room) is an answer.
      if (err instanceof ApiError && err.status !== 0 && err.status !== 503 && err.status !== 502 && err.status !== 504) {
        this.finish({ code: err.code || String(err.status), reason: '', message: err.title || err.message });
      } else {
        this.scheduleRetry({ code: 'UNAVAILABLE', reason: '', message: String(err) });
      }
      return;
    }
    if (this.closed || attempt !== this.attempts) return;
    this.iceServers = token.iceServers;
    const previous = this.ws;
    const ws = new WebSocket(this.signalUrl());
    this.ws = ws;
    previous?.close(); // its onclose sees it is no longer this.ws and does nothing
    let ended: EndInfo | null = null;
    ws.onopen = () => {
      const join: Record<string, string> = { token: token.token };
      if (resume) join.resumeParticipantId = this.st.participantId;
      ws.send(JSON.stringify({ join }));
    };
    ws.onmessage = (ev) => {
      if (ws !== this.ws || typeof ev.data !== 'string') return;
      let msg: Record<string, unknown>;
      try {
        msg = obj(JSON.parse(ev.data));
      } catch {
        return;
      }
      if ('end' in msg) {
        const e = obj(msg.end);
        ended = { code: str(e.code), reason: str(e.reason), message: str(e.message) };
        return;
      }
      this.handle(msg);
    };
    ws.onclose = () => {
      if (ws !== this.ws || this.closed) return;
      this.ws = null;
      this.onSocketEnd(ended);
    };
  }

  private onSocketEnd(ended: EndInfo | null): void {
    if (ended === null) {
      // The connection dropped without a word: the network. Keep the seat, come back.
      this.scheduleRetry({ code: 'UNAVAILABLE', reason: 'CONNECTION_LOST', message: '' });
      return;
    }
    if (ended.reason === 'RESUME_UNKNOWN') {
      // The seat is gone (the grace period passed): a fresh join with a new connection.
      this.teardownMedia();
      this.set({ participantId: '', peers: [], remote: [] });
      void this.connect();
      return;
    }
    if (ended.reason === 'SESSION_REPLACED' || (FINAL_CODES.has(ended.code) && !RETRY_REASONS.has(ended.reason))) {
      this.finish(ended);
      return;
    }
    this.scheduleRetry(ended);
  }

  /** Restarts ICE on pc if it is still the connection, not connected, and signaling is up. */
  private restartIce(pc: RTCPeerConnection): void {
    if (this.pc === pc && pc.connectionState !== 'connected' && this.ws?.readyState === WebSocket.OPEN) pc.restartIce();
  }

  private scheduleRetry(why: EndInfo): void {
    if (this.closed) return;
    const delay = this.retryDelay * (0.75 + Math.random() * 0.5);
    this.retryDelay = Math.min(this.retryDelay * 2, MAX_RETRY_MS);
    this.set({ phase: 'reconnecting', end: why, reconnects: this.st.reconnects + 1 });
    window.clearTimeout(this.retryTimer);
    this.retryTimer = window.setTimeout(() => void this.connect(), delay);
  }

  private finish(end: EndInfo): void {
    this.closed = true;
    window.clearTimeout(this.retryTimer);
    window.clearTimeout(this.iceTimer);
    window.clearInterval(this.statsTimer);
    window.removeEventListener('online', this.onOnline);
    window.removeEventListener('offline', this.onOffline);
    const ws = this.ws;
    this.ws = null;
    ws?.close();
    this.teardownMedia();
    this.set({ phase: 'ended', end, remote: [], peers: [], localCamera: null, localScreen: null, sharing: false, media: 'closed' });
  }

  private teardownMedia(): void {
    this.pc?.close();
    this.pc = null;
    this.chain = Promise.resolve();
    this.audioTx = this.cameraTx = this.screenTx = null;
    for (const t of [...this.localStream.getTracks(), ...this.screenStream.getTracks()]) t.stop();
    this.localStream = new MediaStream();
    this.screenStream = new MediaStream();
    this.micTrack = null;
    this.lastInbound = { lost: 0, received: 0 };
  }

  private handle(msg: Record<string, unknown>): void {
    if ('joined' in msg) return this.onJoined(obj(msg.joined));
    if ('description' in msg) {
      const d = obj(msg.description);
      const sdp = str(d.sdp);
      const type = str(d.type);
      this.enqueue(() => (type === 'SDP_TYPE_OFFER' ? this.onOffer(sdp) : this.onAnswer(sdp)));
      return;
    }
    if ('candidate' in msg) {
      const c = obj(msg.candidate);
      const init: RTCIceCandidateInit = { candidate: str(c.candidate), sdpMid: str(c.sdpMid) };
      if (typeof c.sdpMlineIndex === 'number') init.sdpMLineIndex = c.sdpMlineIndex;
      if (str(c.usernameFragment)) init.usernameFragment = str(c.usernameFragment);
      this.enqueue(async () => {
        // A candidate of a generation already replaced (an ICE restart) is refused: harmless.
        await this.pc?.addIceCandidate(init).catch(() => {});
      });
      return;
    }
    if ('peerJoined' in msg) {
      const p = peerFrom(obj(msg.peerJoined).peer);
      this.set({ peers: [...this.st.peers.filter((x) => x.participantId !== p.participantId), p] });
      return;
    }
    if ('peerLeft' in msg) {
      const id = str(obj(msg.peerLeft).participantId);
      this.viewSizes.delete(`${id} camera`);
      this.viewSizes.delete(`${id} screen`);
      this.set({
        peers: this.st.peers.filter((x) => x.participantId !== id),
        remote: this.st.remote.filter((r) => r.participantId !== id),
        activeSpeaker: this.st.activeSpeaker === id ? '' : this.st.activeSpeaker,
      });
      return;
    }
    if ('peerMediaState' in msg) {
      const m = obj(msg.peerMediaState);
      const ms = obj(m.mediaState);
      this.updatePeer(str(m.participantId), { audioMuted: bool(ms.audioMuted), cameraOff: bool(ms.cameraOff) });
      return;
    }
    if ('peerHand' in msg) {
      const m = obj(msg.peerHand);
      const id = str(m.participantId);
      if (id === this.st.participantId) this.set({ handRaised: bool(m.raised) });
      else this.updatePeer(id, { handRaised: bool(m.raised) });
      return;
    }
    if ('peerPermissions' in msg) {
      const m = obj(msg.peerPermissions);
      const id = str(m.participantId);
      const perms = permissionsFrom(m.permissions);
      if (id === this.st.participantId) {
        this.set({ permissions: perms });
        this.enqueue(() => this.syncPublishing());
      } else this.updatePeer(id, { permissions: perms });
      return;
    }
    if ('recording' in msg) {
      this.set({ recording: recordingFrom(msg.recording) });
      return;
    }
    if ('activeSpeaker' in msg) {
      this.serverSpeaker = true;
      this.set({ activeSpeaker: str(obj(msg.activeSpeaker).participantId) });
      return;
    }
    if ('error' in msg) {
      const e = obj(msg.error);
      const reason = str(e.reason);
      // Our offer lost a collision: the service's offer is being answered and
      // negotiationneeded brings ours back afterwards. Not a problem to show.
      if (reason === 'OFFER_COLLISION') return;
      // A tile's size for a publisher that has just gone: nothing to show either.
      if (str(e.field).startsWith('view_size')) return;
      this.set({ error: { reason, message: str(e.message) } });
      if (reason === 'PUBLISH_NOT_ALLOWED' || reason === 'INVALID_SDP') this.enqueue(() => this.withdrawRefusedOffer());
    }
  }

  private updatePeer(id: string, patch: Partial<Peer>): void {
    this.set({ peers: this.st.peers.map((p) => (p.participantId === id ? { ...p, ...patch } : p)) });
  }

  private enqueue(step: () => Promise<void>): void {
    const pc = this.pc;
    this.chain = this.chain
      .then(() => (this.pc === pc && pc !== null ? step() : undefined))
      .catch((err: unknown) => {
        if (this.pc === pc && !this.closed) this.set({ error: { reason: 'CLIENT', message: String(err) } });
      });
  }

  private onJoined(j: Record<string, unknown>): void {
    const id = str(j.participantId);
    const resumed = id !== '' && id === this.st.participantId && this.pc !== null;
    this.retryDelay = 1000;
    this.set({
      phase: 'connected',
      participantId: id,
      permissions: permissionsFrom(j.permissions),
      peers: arr(j.peers).map(peerFrom).filter((p) => p.participantId !== id),
      end: null,
      recording: recordingFrom(j.recording),
    });
    if (resumed) {
      // The network may have changed under us: restart ICE with a new offer. An offer of
      // ours lost with the old socket is rolled back first and made again.
      this.enqueue(async () => {
        const pc = this.pc;
        if (!pc) return;
        if (pc.signalingState === 'have-local-offer') await pc.setLocalDescription({ type: 'rollback' });
        pc.restartIce();
      });
      this.sendMediaState();
      if (this.st.handRaised) this.send({ raiseHand: { raised: true } });
      for (const v of this.viewSizes.values()) this.send({ viewSize: v });
      return;
    }
    // A new connection: the tiles report their sizes again as its tracks arrive.
    this.viewSizes.clear();
    this.teardownMedia();
    this.set({ remote: [], sharing: false, localScreen: null, handRaised: false });
    void this.setupMedia();
  }

  private async setupMedia(): Promise<void> {
    const pc = new RTCPeerConnection({ iceServers: this.iceServers, bundlePolicy: 'max-bundle' });
    this.pc = pc;
    pc.onicecandidate = (ev) => {
      if (this.pc !== pc || !ev.candidate || ev.candidate.candidate === '') return;
      const c = ev.candidate;
      const candidate: Record<string, unknown> = { candidate: c.candidate, sdpMid: c.sdpMid ?? '' };
      if (c.sdpMLineIndex !== null) candidate.sdpMlineIndex = c.sdpMLineIndex;
      if (c.usernameFragment) candidate.usernameFragment = c.usernameFragment;
      this.send({ candidate });
    };
    pc.onnegotiationneeded = () => this.enqueue(() => this.offer(pc));
    pc.ontrack = () => this.refreshRemote();
    pc.onconnectionstatechange = () => {
      if (this.pc !== pc) return;
      this.set({ media: pc.connectionState });
      // Media lost while signaling still works: restart ICE (a new offer) — not only once the
      // browser calls the connection failed, tens of seconds on: after a Wi-Fi drop the
      // service's side has failed sooner and keeps the seat for its resume grace only.
      window.clearTimeout(this.iceTimer);
      if (pc.connectionState === 'failed') this.restartIce(pc);
      else if (pc.connectionState === 'disconnected') {
        this.iceTimer = window.setTimeout(() => this.restartIce(pc), ICE_RESTART_AFTER_MS);
      }
    };

    const perms = this.st.permissions;
    const devices = await this.openDevices(perms.publishAudio, perms.publishVideo);
    if (this.pc !== pc) {
      devices.forEach((t) => t.stop());
      return;
    }
    const mic = devices.find((t) => t.kind === 'audio') ?? null;
    const cam = devices.find((t) => t.kind === 'video') ?? null;
    if (mic) {
      mic.enabled = !this.st.audioMuted;
      this.localStream.addTrack(mic);
      this.micTrack = mic;
      this.audioTx = pc.addTransceiver(mic, { direction: 'sendrecv', streams: [this.localStream] });
    } else {
      // Watching (or no microphone): receive only, so the offer asks for nothing we may not send.
      this.audioTx = pc.addTransceiver('audio', { direction: 'recvonly' });
    }
    if (cam) {
      this.localStream.addTrack(cam);
      this.cameraTx = pc.addTransceiver(cam, { direction: 'sendrecv', streams: [this.localStream], sendEncodings: cameraLayers() });
    } else {
      // Only watching: one layer if promoted later (the promoted camera goes out on this
      // transceiver, and a receive-only section offering send layers is not worth the risk).
      this.cameraTx = pc.addTransceiver('video', { direction: 'recvonly' });
    }
    this.set({ localCamera: cam, cameraOff: !cam, media: pc.connectionState });
    this.sendMediaState();
  }

  private async openDevices(audio: boolean, video: boolean): Promise<MediaStreamTrack[]> {
    if (!audio && !video) return [];
    try {
      const s = await navigator.mediaDevices.getUserMedia({ audio, video: video ? CAMERA : false });
      this.noteDevice('microphone', false);
      this.noteDevice('camera', false);
      return s.getTracks();
    } catch {
      // One of them may still work (a tablet without a camera): try each on its own.
      const out: MediaStreamTrack[] = [];
      if (audio) {
        const t = await this.openDevice('microphone');
        if (t) out.push(t);
      }
      if (video) {
        const t = await this.openDevice('camera');
        if (t) out.push(t);
      }
      return out;
    }
  }

  private async openDevice(which: 'camera' | 'microphone'): Promise<MediaStreamTrack | null> {
    try {
      const s = await navigator.mediaDevices.getUserMedia(which === 'camera' ? { video: CAMERA } : { audio: true });
      this.noteDevice(which, false);
      return s.getTracks()[0] ?? null;
    } catch {
      this.noteDevice(which, true);
      return null;
    }
  }

  private noteDevice(which: string, failed: boolean): void {
    const rest = this.st.deviceProblems.filter((d) => d !== which);
    this.set({ deviceProblems: failed ? [...rest, which] : rest });
  }

  private sendMediaState(): void {
    this.send({ mediaState: { audioMuted: this.st.audioMuted, cameraOff: this.st.cameraOff || !this.st.localCamera } });
  }

  private async offer(pc: RTCPeerConnection): Promise<void> {
    if (pc.signalingState !== 'stable' || this.ws?.readyState !== WebSocket.OPEN) return;
    this.makingOffer = true;
    try {
      await pc.setLocalDescription();
      const sdp = pc.localDescription?.sdp ?? '';
      const tx = this.screenTx;
      const screenMids = tx?.mid && (tx.direction === 'sendonly' || tx.direction === 'sendrecv') ? [tx.mid] : [];
      this.send({ description: { type: 'SDP_TYPE_OFFER', sdp, screenMids } });
    } finally {
      this.makingOffer = false;
    }
  }

  private async onOffer(sdp: string): Promise<void> {
    const pc = this.pc;
    if (!pc) return;
    // The service is the impolite side: its offer wins over one of ours in flight.
    if (pc.signalingState === 'have-local-offer' || this.makingOffer) await pc.setLocalDescription({ type: 'rollback' });
    await pc.setRemoteDescription({ type: 'offer', sdp });
    await pc.setLocalDescription();
    this.send({ description: { type: 'SDP_TYPE_ANSWER', sdp: pc.localDescription?.sdp ?? '' } });
    this.refreshRemote();
  }

  private async onAnswer(sdp: string): Promise<void> {
    const pc = this.pc;
    // An answer to an offer we have since rolled back: stale.
    if (!pc || pc.signalingState !== 'have-local-offer') return;
    await pc.setRemoteDescription({ type: 'answer', sdp });
    this.refreshRemote();
  }

  // withdrawRefusedOffer: the service refused our offer (a section we may not send, or SDP
  // it cannot read). Roll it back and stop sending what the permissions do not allow, so
  // the next offer (negotiationneeded) is one the service accepts — and no loop of refusals.
  private async withdrawRefusedOffer(): Promise<void> {
    const pc = this.pc;
    if (!pc) return;
    if (pc.signalingState === 'have-local-offer') await pc.setLocalDescription({ type: 'rollback' });
    const p = this.st.permissions;
    for (const tx of pc.getTransceivers()) {
      if (tx.direction !== 'sendrecv' && tx.direction !== 'sendonly') continue;
      const kind = tx.sender.track?.kind ?? tx.receiver.track.kind;
      const allowed = tx === this.screenTx ? p.publishScreen : kind === 'audio' ? p.publishAudio : p.publishVideo;
      if (allowed) continue;
      tx.sender.track?.stop();
      await tx.sender.replaceTrack(null);
      tx.direction = 'recvonly';
    }
  }

  // syncPublishing follows a change of our own permissions (promoted to speak, or demoted).
  private async syncPublishing(): Promise<void> {
    const pc = this.pc;
    if (!pc) return;
    const p = this.st.permissions;
    if (!p.publishScreen && this.st.sharing) await this.stopScreen();
    if (this.audioTx) {
      if (p.publishAudio && !this.micTrack) {
        const mic = await this.openDevice('microphone');
        if (mic && this.pc === pc) {
          mic.enabled = !this.st.audioMuted;
          this.localStream.addTrack(mic);
          this.micTrack = mic;
          await this.audioTx.sender.replaceTrack(mic);
          this.audioTx.sender.setStreams(this.localStream);
          this.audioTx.direction = 'sendrecv';
        }
      } else if (!p.publishAudio && this.micTrack) {
        this.micTrack.stop();
        this.localStream.removeTrack(this.micTrack);
        this.micTrack = null;
        await this.audioTx.sender.replaceTrack(null);
        this.audioTx.direction = 'recvonly';
      }
    }
    if (this.cameraTx) {
      const cam = this.st.localCamera;
      if (p.publishVideo && !cam && !this.st.cameraOff) {
        const track = await this.openDevice('camera');
        if (track && this.pc === pc) {
          this.localStream.addTrack(track);
          await this.cameraTx.sender.replaceTrack(track);
          this.cameraTx.sender.setStreams(this.localStream);
          this.cameraTx.direction = 'sendrecv';
          this.set({ localCamera: track });
        }
      } else if (!p.publishVideo && cam) {
        cam.stop();
        this.localStream.removeTrack(cam);
        await this.cameraTx.sender.replaceTrack(null);
        this.cameraTx.direction = 'recvonly';
        this.set({ localCamera: null });
      }
    }
    this.sendMediaState();
  }

  // refreshRemote rebuilds the list of forwarded tracks from the transceivers that receive
  // and the service's description of them (publisher and source from the msid).
  private refreshRemote(): void {
    const pc = this.pc;
    if (!pc) return;
    const sections = new Map(parseSdpMedia(pc.remoteDescription?.sdp ?? '').map((m) => [m.mid, m]));
    const remote: RemoteMedia[] = [];
    for (const tx of pc.getTransceivers()) {
      const dir = tx.currentDirection;
      if (!tx.mid || (dir !== 'recvonly' && dir !== 'sendrecv')) continue;
      const m = sections.get(tx.mid);
      if (!m || !m.streamId || m.streamId === '-' || m.streamId === this.st.participantId) continue;
      const kind = tx.receiver.track.kind === 'audio' ? 'audio' : 'video';
      remote.push({ mid: tx.mid, participantId: m.streamId, kind, source: sourceOf(m.trackId), track: tx.receiver.track });
    }
    this.set({ remote });
  }

  private async sampleStats(): Promise<void> {
    const pc = this.pc;
    if (!pc || this.closed) return;
    let report: RTCStatsReport;
    try {
      report = await pc.getStats();
    } catch {
      return;
    }
    let rttMs: number | null = null;
    let lost = 0;
    let received = 0;
    let loudest = { mid: '', level: SPEAKING_LEVEL };
    report.forEach((s: Record<string, unknown>) => {
      if (s.type === 'candidate-pair' && s.nominated === true && s.state === 'succeeded' && typeof s.currentRoundTripTime === 'number') {
        rttMs = Math.round(s.currentRoundTripTime * 1000);
      }
      if (s.type === 'inbound-rtp') {
        lost += typeof s.packetsLost === 'number' ? Math.max(0, s.packetsLost) : 0;
        received += typeof s.packetsReceived === 'number' ? s.packetsReceived : 0;
        if (s.kind === 'audio' && typeof s.audioLevel === 'number' && s.audioLevel > loudest.level && typeof s.mid === 'string') {
          loudest = { mid: s.mid, level: s.audioLevel };
        }
      }
    });
    const dLost = lost - this.lastInbound.lost;
    const dRecv = received - this.lastInbound.received;
    this.lastInbound = { lost, received };
    const loss = dLost + dRecv > 0 ? Math.max(0, dLost) / (dLost + dRecv) : null;
    const connected = pc.connectionState === 'connected';
    const patch: Partial<SessionState> = { quality: { level: qualityOf(connected, loss, rttMs), rttMs, loss } };
    // Until the service names a speaker, the loudest incoming audio does.
    if (!this.serverSpeaker && loudest.mid) {
      const r = this.st.remote.find((x) => x.mid === loudest.mid);
      if (r) patch.activeSpeaker = r.participantId;
    }
    this.set(patch);
  }
}

// A modest camera: a tablet's uplink carries it beside the agenda's papers.
const CAMERA: MediaTrackConstraints = { width: { ideal: 640 }, height: { ideal: 360 }, frameRate: { ideal: 24 } };

// The camera goes out as two layers (simulcast): half and the full picture. The service
// forwards each subscriber the one its bandwidth allows, so a tablet on weak Wi-Fi gets the
// small picture and does not hold back anyone else. Two, not three: for a 640x360 camera
// Chromium sends at most two layers and drops the top ones — asked for a quarter, half and
// full picture it sent only the first two, and nobody saw the full picture. Ordered low to
// high; the service ranks them by picture size, not by these names. The screen share stays
// one layer: its text must stay legible, and it is shown large.
function cameraLayers(): RTCRtpEncodingParameters[] {
  return [
    { rid: 'h', scaleResolutionDownBy: 2, maxBitrate: 300_000 },
    { rid: 'f', scaleResolutionDownBy: 1, maxBitrate: 900_000 },
  ];
}
