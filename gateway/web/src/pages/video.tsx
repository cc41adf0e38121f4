// The video page of a meeting: the online room (grid or active-speaker layout, mute, camera,
// screen share, raise hand, connection quality, reconnecting after the network drops) beside
// the item under discussion, the agenda and the papers — the meeting goes on around it.
// The media logic is in ../video.ts; this renders its state.
import { useCallback, useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { AgendaList, CurrentItem, Loading, ProblemBox, useTitle } from '../components';
import { DocumentsSection } from '../docviews';
import { useLiveEvents } from '../livectx';
import { canRun, type Meeting } from '../model';
import { request } from '../api';
import { Link } from '../router';
import { useSession } from '../session';
import { useMeeting } from '../useMeeting';
import {
  fetchRoom,
  openRoom,
  VideoSession,
  watchOnly,
  type Peer,
  type RemoteMedia,
  type Room,
  type SessionState,
  VIEW_SIZE_DEBOUNCE_MS,
} from '../video';
import { useVideoText, type VideoKey } from '../videotext';
import '../video.css';

export function videoPath(meetingId: string): string {
  return `/meetings/${encodeURIComponent(meetingId)}/video`;
}

// useRoom: the meeting's room (null: none opened), reloaded when the video service says a
// room opened or someone came or went.
function useRoom(meetingId: string, enabled: boolean): { room: Room | null | undefined; error: unknown; reload: () => void } {
  const [room, setRoom] = useState<Room | null | undefined>(undefined);
  const [error, setError] = useState<unknown>(null);
  const gen = useRef(0);
  const reload = useCallback(() => {
    if (!enabled) return;
    const mine = ++gen.current;
    fetchRoom(meetingId)
      .then((r) => {
        if (mine !== gen.current) return;
        setRoom(r);
        setError(null);
      })
      .catch((err: unknown) => {
        if (mine === gen.current) setError(err);
      });
  }, [meetingId, enabled]);
  useEffect(reload, [reload]);
  useLiveEvents((e) => {
    // Subjects may carry a deployment prefix before ecabinet.
    if (e.subject.includes(`ecabinet.video.v1.${meetingId}.`)) reload();
  });
  return { room, error, reload };
}

// seesRoom: whether GetRoom can tell this person about the meeting's room. The video service
// answers it only to members of the meeting's organisation; a participant from elsewhere (the
// higher-level committee member joining from their office) gets 404 either way, so for them
// the join-token call is what says whether the room is open.
function seesRoom(meeting: Meeting, orgs: string[]): boolean {
  return orgs.includes(meeting.organizationId);
}

function useOrgs(): string[] {
  const { session } = useSession();
  return session.kind === 'signed-in' ? session.principal.organizationIds : [];
}

/**
 * The way from the meeting page to its online room: shown when the room is open, when the
 * meeting is held online, and to participants from other organisations (who cannot see
 * whether it is open).
 */
export function VideoLink({ meeting }: { meeting: Meeting }) {
  const { tt } = useVideoText();
  const orgs = useOrgs();
  const ended = meeting.state === 'MEETING_STATE_CLOSED' || meeting.state === 'MEETING_STATE_CANCELLED';
  const { room } = useRoom(meeting.id, !ended);
  const open = room?.state === 'ROOM_STATE_OPEN';
  const outsider = meeting.myRole !== 'PARTICIPANT_ROLE_UNSPECIFIED' && !seesRoom(meeting, orgs);
  if (ended || (!open && !meeting.online && !outsider)) return null;
  return (
    <Link class={`button ${open ? 'button--primary' : ''}`} href={videoPath(meeting.id)} data-testid="video-link" data-room={open ? 'open' : 'none'}>
      {open && room.participantCount > 0 ? tt('linkCount', { n: room.participantCount }) : tt('link')}
    </Link>
  );
}

export function VideoPage({ id }: { id: string }) {
  const { tt } = useVideoText();
  const model = useMeeting(id);
  const { meeting } = model;
  useTitle(meeting ? `${tt('title')} · ${meeting.title}` : tt('title'));
  const { room, error: roomError, reload } = useRoom(id, true);
  const orgs = useOrgs();
  // Someone who cannot see the room (see seesRoom) may still try to join it.
  const blind = room === null && meeting !== null && !seesRoom(meeting, orgs);

  return (
    <article class="video-page" data-testid="video-page" data-meeting-id={id}>
      <p class="back">
        <Link class="back-link" href={`/meetings/${encodeURIComponent(id)}`} data-testid="video-back">
          ← {tt('back')}
        </Link>
      </p>
      <h1 class="page-title video-title">
        {tt('title')}
        {meeting && <span class="video-meeting-title">{meeting.title}</span>}
      </h1>
      <div class="video-layout">
        <section class="video-main" aria-label={tt('stage')}>
          {room === undefined || (room === null && meeting === null) ? (
            roomError ? <ProblemBox error={roomError} onRetry={reload} /> : <Loading />
          ) : !blind && (room === null || room.state !== 'ROOM_STATE_OPEN') ? (
            <NoRoom meeting={meeting} room={room} onOpened={reload} />
          ) : (
            <RoomView meetingId={id} meeting={meeting} />
          )}
        </section>
        <aside class="video-side" aria-label={tt('agenda')}>
          {meeting ? (
            <>
              <CurrentItem meeting={meeting} />
              <section class="panel" aria-labelledby="video-agenda-title">
                <h2 id="video-agenda-title" class="section-title">
                  {tt('agenda')}
                </h2>
                <AgendaList meeting={meeting} />
              </section>
              <DocumentsSection meeting={meeting} />
            </>
          ) : model.error ? (
            <ProblemBox error={model.error} onRetry={() => void model.reload()} />
          ) : (
            <Loading />
          )}
        </aside>
      </div>
    </article>
  );
}

function NoRoom({ meeting, room, onOpened }: { meeting: Meeting | null; room: Room | null; onOpened: () => void }) {
  const { tt } = useVideoText();
  const { session } = useSession();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const admin =
    meeting !== null && session.kind === 'signed-in' && session.principal.adminOrganizationIds.includes(meeting.organizationId);
  return (
    <div class="panel video-noroom" data-testid="video-noroom">
      <p>{room ? tt('roomClosed') : tt('noRoom')}</p>
      {!room && <p class="muted">{tt('noRoomWait')}</p>}
      {admin && meeting && !room && (
        <button
          type="button"
          class="button button--primary"
          data-testid="video-open-room"
          disabled={busy}
          onClick={() => {
            setBusy(true);
            setError(null);
            openRoom(meeting.id, meeting.organizationId)
              .then(onOpened)
              .catch((err: unknown) => setError(err))
              .finally(() => setBusy(false));
          }}
        >
          {tt('openRoom')}
        </button>
      )}
      <ProblemBox error={error} />
    </div>
  );
}

type Layout = 'grid' | 'speaker';

// RoomView: before joining, one button (the browser asks for the devices on a person's
// action, and sound may play only after one); then the session.
function RoomView({ meetingId, meeting }: { meetingId: string; meeting: Meeting | null }) {
  const { tt } = useVideoText();
  const [joined, setJoined] = useState(false);
  const [attempt, setAttempt] = useState(0);
  const observer = meeting?.myRole === 'PARTICIPANT_ROLE_OBSERVER' || meeting?.myRole === 'PARTICIPANT_ROLE_GUEST';
  if (!joined) {
    return (
      <div class="panel video-lobby" data-testid="video-lobby">
        <button type="button" class="button button--primary button--big" data-testid="video-join" onClick={() => setJoined(true)}>
          {observer ? tt('joinWatch') : tt('join')}
        </button>
        {!observer && <p class="muted">{tt('joinHint')}</p>}
      </div>
    );
  }
  return <Session key={attempt} meetingId={meetingId} meeting={meeting} onRejoin={() => setAttempt((n) => n + 1)} />;
}

function Session({ meetingId, meeting, onRejoin }: { meetingId: string; meeting: Meeting | null; onRejoin: () => void }) {
  const { tt } = useVideoText();
  const [st, setSt] = useState<SessionState | null>(null);
  const [layout, setLayout] = useState<Layout>('grid');
  const session = useRef<VideoSession | null>(null);

  useEffect(() => {
    const s = new VideoSession({ meetingId, onChange: setSt });
    session.current = s;
    setSt(s.state);
    s.start();
    const bye = () => s.leave();
    // Leaving the page (or closing the tab) frees the seat at once rather than after the
    // service's grace period.
    window.addEventListener('pagehide', bye);
    return () => {
      window.removeEventListener('pagehide', bye);
      s.leave();
    };
  }, [meetingId]);

  if (!st) return <Loading />;
  const s = session.current;
  const nameOf = (p: Peer | undefined, personId = '') => {
    if (p?.displayName) return p.displayName;
    const id = p?.personId || personId;
    return meeting?.participants.find((x) => x.personId === id)?.fullName ?? '…';
  };
  const watching = watchOnly(st.permissions);
  const onViewSize = (participantId: string, source: 'camera' | 'screen', height: number, again: boolean) =>
    s?.setViewSize(participantId, source, height, again);

  return (
    <div
      class="video-room"
      data-testid="video-room"
      data-phase={st.phase}
      data-media={st.media}
      data-participant-id={st.participantId}
      data-watch-only={String(watching)}
      data-layout={layout}
    >
      <StatusBar st={st} />
      {st.phase === 'ended' ? (
        <Ended st={st} onRejoin={onRejoin} />
      ) : (
        <>
          {watching && st.participantId && (
            <p class="notice video-watch-only" data-testid="video-watch-only">
              {tt('watchOnly')}
            </p>
          )}
          <Stage st={st} layout={layout} nameOf={nameOf} onViewSize={onViewSize} />
          <Controls st={st} session={s} layout={layout} setLayout={setLayout} watching={watching} />
          {meeting && canRun(meeting) && <RecordingControl meetingId={meetingId} on={st.recording.on} undelivered={st.recording.undelivered} />}
          <Problems st={st} />
          <People st={st} nameOf={nameOf} />
        </>
      )}
      {st.remote
        .filter((r) => r.kind === 'audio')
        .map((r) => (
          <MediaView key={`${r.mid}:${r.participantId}`} track={r.track} audio testid="video-audio" participantId={r.participantId} />
        ))}
    </div>
  );
}

function StatusBar({ st }: { st: SessionState }) {
  const { tt } = useVideoText();
  const q = st.quality;
  const detail =
    q.rttMs !== null || q.loss !== null
      ? tt('quality.detail', { rtt: q.rttMs ?? '–', loss: q.loss === null ? '–' : (q.loss * 100).toFixed(1) })
      : '';
  const bars = { good: 3, fair: 2, poor: 1, unknown: 0 }[q.level];
  return (
    <div class="video-status" role="status" data-testid="video-status">
      <span class={`video-phase video-phase--${st.phase}`} data-testid="video-phase" data-phase={st.phase}>
        {tt(`phase.${st.phase}` as VideoKey)}
        {st.phase === 'connected' && st.media !== 'connected' && ` · ${tt('media.connecting')}`}
      </span>
      {st.phase !== 'ended' && (
        <span class={`video-quality video-quality--${q.level}`} data-testid="video-quality" data-quality={q.level} title={detail}>
          <span class="video-bars" aria-hidden="true">
            {[1, 2, 3].map((n) => (
              <span key={n} class={`video-bar ${n <= bars ? 'video-bar--on' : ''}`} />
            ))}
          </span>
          {tt('quality')}: {tt(`quality.${q.level}` as VideoKey)}
          {detail && <span class="video-quality-detail"> ({detail})</span>}
        </span>
      )}
      {st.phase === 'reconnecting' && <span class="video-reconnect-hint">{tt('reconnectHint')}</span>}
      {st.recording.on && st.phase !== 'ended' && (
        <span class="video-recording" data-testid="video-recording">
          <span class="video-recording-dot" aria-hidden="true" />
          {tt('recording.on')}
        </span>
      )}
    </div>
  );
}

interface Tile {
  key: string;
  participantId: string;
  personId: string;
  name: string;
  source: 'camera' | 'screen';
  track: MediaStreamTrack | null;
  mid: string;
  self: boolean;
  muted: boolean;
  hand: boolean;
}

function tilesOf(st: SessionState, nameOf: (p: Peer | undefined, personId?: string) => string, tt: (k: VideoKey, p?: Record<string, string>) => string): Tile[] {
  const tiles: Tile[] = [];
  if (st.participantId && !watchOnly(st.permissions)) {
    tiles.push({
      key: 'self',
      participantId: st.participantId,
      personId: '',
      name: tt('you'),
      source: 'camera',
      track: st.localCamera,
      mid: '',
      self: true,
      muted: st.audioMuted,
      hand: st.handRaised,
    });
  }
  if (st.localScreen) {
    tiles.push({ key: 'self-screen', participantId: st.participantId, personId: '', name: tt('yourScreen'), source: 'screen', track: st.localScreen, mid: '', self: true, muted: false, hand: false });
  }
  const videos = st.remote.filter((r) => r.kind === 'video');
  const seen = new Set<string>();
  for (const p of st.peers) {
    seen.add(p.participantId);
    const cam = videos.find((r) => r.participantId === p.participantId && r.source !== 'screen');
    // Watchers have no tile: only those who may send are seen.
    if (!cam && watchOnly(p.permissions)) continue;
    tiles.push(remoteTile(p.participantId, p.personId, nameOf(p), 'camera', cam, p.audioMuted, p.handRaised, p.cameraOff));
  }
  for (const r of videos) {
    if (r.source === 'screen') {
      const p = st.peers.find((x) => x.participantId === r.participantId);
      tiles.push(remoteTile(r.participantId, p?.personId ?? '', tt('screenOf', { name: nameOf(p) }), 'screen', r, false, false, false));
    } else if (!seen.has(r.participantId)) {
      // Media before the peerJoined notice: shown all the same.
      seen.add(r.participantId);
      tiles.push(remoteTile(r.participantId, '', nameOf(undefined), 'camera', r, false, false, false));
    }
  }
  return tiles;
}

function remoteTile(participantId: string, personId: string, name: string, source: 'camera' | 'screen', r: RemoteMedia | undefined, muted: boolean, hand: boolean, cameraOff: boolean): Tile {
  return {
    key: `${source}:${participantId}:${r?.mid ?? ''}`,
    participantId,
    personId,
    name,
    source,
    track: r && !cameraOff ? r.track : null,
    mid: r?.mid ?? '',
    self: false,
    muted,
    hand,
  };
}

type ViewSizeReport = (participantId: string, source: 'camera' | 'screen', height: number, again: boolean) => void;

// Every remote tile reports the height it is shown at, so the big tile of the active-speaker
// layout gets a sharp picture and the thumbnails a small one (ADR 0004, View size).
function Stage({ st, layout, nameOf, onViewSize }: { st: SessionState; layout: Layout; nameOf: (p: Peer | undefined, personId?: string) => string; onViewSize: ViewSizeReport }) {
  const { tt } = useVideoText();
  const tiles = tilesOf(st, nameOf, tt);
  if (layout === 'grid' || tiles.length < 2) {
    return (
      <div class={`video-grid video-grid--${Math.min(tiles.length, 4)}`} data-testid="video-stage">
        {tiles.map((tile) => (
          <TileView key={tile.key} tile={tile} speaking={tile.participantId === st.activeSpeaker && !tile.self && tile.source === 'camera'} onViewSize={onViewSize} />
        ))}
      </div>
    );
  }
  // Active speaker: a shared screen takes the stage; else who speaks; else the first other.
  const main =
    tiles.find((x) => x.source === 'screen' && !x.self) ??
    tiles.find((x) => x.participantId === st.activeSpeaker && x.source === 'camera' && !x.self) ??
    tiles.find((x) => !x.self) ??
    tiles[0];
  return (
    <div class="video-speaker" data-testid="video-stage">
      <div class="video-speaker-main">
        <TileView tile={main} speaking={main.participantId === st.activeSpeaker && main.source === 'camera'} onViewSize={onViewSize} />
      </div>
      <div class="video-strip">
        {tiles
          .filter((x) => x !== main)
          .map((tile) => (
            <TileView key={tile.key} tile={tile} speaking={tile.participantId === st.activeSpeaker && !tile.self && tile.source === 'camera'} onViewSize={onViewSize} />
          ))}
      </div>
    </div>
  );
}

function TileView({ tile, speaking, onViewSize }: { tile: Tile; speaking: boolean; onViewSize: ViewSizeReport }) {
  const { tt } = useVideoText();
  return (
    <figure
      class={`video-tile ${speaking ? 'video-tile--speaking' : ''} video-tile--${tile.source}`}
      data-testid="video-tile"
      data-participant-id={tile.participantId}
      data-person-id={tile.personId}
      data-source={tile.source}
      data-mid={tile.mid}
      data-self={String(tile.self)}
      data-speaking={String(speaking)}
    >
      {tile.track ? (
        <MediaView
          track={tile.track}
          muted={tile.self}
          mirror={tile.self && tile.source === 'camera'}
          testid="video-media"
          participantId={tile.participantId}
          onHeight={tile.self ? undefined : (h, again) => onViewSize(tile.participantId, tile.source, h, again)}
        />
      ) : (
        <div class="video-placeholder" aria-hidden="true">
          <span class="video-initial">{initials(tile.name)}</span>
        </div>
      )}
      <figcaption class="video-caption">
        <span class="video-name">{tile.name}</span>
        {tile.hand && (
          <span class="video-badge video-badge--hand" data-testid="video-hand" title={tt('handUp')}>
            {tt('handUp')}
          </span>
        )}
        {tile.muted && tile.source === 'camera' && <span class="video-badge">{tt('muted')}</span>}
        {!tile.track && tile.source === 'camera' && <span class="video-badge">{tt('noCamera')}</span>}
        {speaking && <span class="video-badge video-badge--speaking">{tt('speaking')}</span>}
      </figcaption>
    </figure>
  );
}

function initials(name: string): string {
  const words = name.trim().split(/\s+/).filter(Boolean);
  // Vietnamese names end with the given name, by which people are called.
  return (words[words.length - 1] ?? '?').slice(0, 2).toUpperCase();
}

// MediaView plays one track. Each element gets its own MediaStream so that tracks of one
// publisher can be shown and hidden independently.
// onHeight, if given, hears the element's height in device pixels once it has held for
// VIEW_SIZE_DEBOUNCE_MS (again: the first report for this track).
function MediaView({
  track,
  muted,
  audio,
  mirror,
  testid,
  participantId,
  onHeight,
}: {
  track: MediaStreamTrack;
  muted?: boolean;
  audio?: boolean;
  mirror?: boolean;
  testid: string;
  participantId: string;
  onHeight?: (height: number, again: boolean) => void;
}) {
  const ref = useRef<HTMLVideoElement & HTMLAudioElement>(null);
  const stream = useMemo(() => new MediaStream([track]), [track]);
  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    el.srcObject = stream;
    // Refused only without a user gesture on the page; joining is one.
    el.play().catch(() => {});
  }, [stream]);
  // The callback changes with every render; the observer should not.
  const report = useRef(onHeight);
  report.current = onHeight;
  const measured = onHeight !== undefined;
  useEffect(() => {
    const el = ref.current;
    if (!el || !measured || typeof ResizeObserver === 'undefined') return;
    let timer: number | undefined;
    let first = true;
    const measure = () => {
      const h = Math.round(el.getBoundingClientRect().height * (window.devicePixelRatio || 1));
      // 0 would mean "as large as you can": a tile not laid out yet asks for nothing.
      if (h <= 0) return;
      report.current?.(h, first);
      first = false;
    };
    const ro = new ResizeObserver(() => {
      window.clearTimeout(timer);
      timer = window.setTimeout(measure, VIEW_SIZE_DEBOUNCE_MS);
    });
    ro.observe(el);
    return () => {
      ro.disconnect();
      window.clearTimeout(timer);
    };
  }, [track, measured]);
  if (audio) return <audio ref={ref} autoplay data-testid={testid} data-participant-id={participantId} />;
  return (
    <video
      ref={ref}
      class={`video-media ${mirror ? 'video-media--mirror' : ''}`}
      autoplay
      playsInline
      muted={muted ?? true}
      data-testid={testid}
      data-participant-id={participantId}
    />
  );
}

/** Why a session ended, for the reasons with a text of their own. */
const KNOWN_ENDS = new Set(['LEFT', 'SESSION_REPLACED', 'JOINED_ELSEWHERE', 'JOIN_TIMEOUT']);

/** Start and stop the recording: for who runs the meeting (the service checks it too). */
function RecordingControl({ meetingId, on, undelivered }: { meetingId: string; on: boolean; undelivered: number }) {
  const { tt } = useVideoText();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const [saved, setSaved] = useState(false);
  const [lastError, setLastError] = useState('');
  const base = `/api/v1/meetings/${encodeURIComponent(meetingId)}/video`;
  const toggle = () => {
    setBusy(true);
    setError(null);
    request('POST', `${base}:${on ? 'stopRecording' : 'startRecording'}`, {})
      .then(() => setSaved(on))
      .catch(setError)
      .finally(() => setBusy(false));
  };
  // Files the documents refused, or a restart of the video service interrupted: delivered
  // again as whoever asks (the service keeps them until then).
  const deliver = () => {
    setBusy(true);
    setError(null);
    request<{ files?: { lastError?: string }[] }>('POST', `${base}:deliverRecordings`, {})
      .then((r) => setLastError(r.files?.find((f) => f.lastError)?.lastError ?? ''))
      .catch(setError)
      .finally(() => setBusy(false));
  };
  return (
    <div class="video-recording-control">
      <button type="button" class={`button ${on ? 'button--danger' : ''}`} data-testid="video-record" data-on={String(on)} disabled={busy} onClick={toggle}>
        {on ? tt('recording.stop') : tt('recording.start')}
      </button>
      {saved && !on && undelivered === 0 && (
        <p class="notice" role="status" data-testid="video-recording-saved">
          {tt('recording.saved')}
        </p>
      )}
      {undelivered > 0 && (
        <div class="notice" role="status" data-testid="video-recording-undelivered" data-count={undelivered}>
          <p>{tt('recording.undelivered', { n: undelivered })}</p>
          {lastError && <p data-testid="video-recording-last-error">{tt('recording.lastError', { error: lastError })}</p>}
          <button type="button" class="button" data-testid="video-recording-deliver" disabled={busy} onClick={deliver}>
            {tt('recording.deliver')}
          </button>
        </div>
      )}
      <ProblemBox error={error} />
    </div>
  );
}

function Controls({ st, session, layout, setLayout, watching }: { st: SessionState; session: VideoSession | null; layout: Layout; setLayout: (l: Layout) => void; watching: boolean }) {
  const { tt } = useVideoText();
  const live = st.phase === 'connected' || st.phase === 'reconnecting';
  const screenOK = typeof navigator.mediaDevices?.getDisplayMedia === 'function';
  return (
    <div class="video-controls" role="group" aria-label={tt('controls')} data-testid="video-controls">
      {!watching && st.permissions.publishAudio && (
        <button type="button" class="choice" aria-pressed={st.audioMuted} data-testid="video-mute" disabled={!live} onClick={() => session?.toggleMute()}>
          {st.audioMuted ? tt('unmute') : tt('mute')}
        </button>
      )}
      {!watching && st.permissions.publishVideo && (
        <button type="button" class="choice" aria-pressed={st.cameraOff} data-testid="video-camera" disabled={!live} onClick={() => void session?.toggleCamera()}>
          {st.cameraOff ? tt('cameraOn') : tt('cameraOff')}
        </button>
      )}
      {st.permissions.publishScreen && screenOK && (
        <button type="button" class="choice" aria-pressed={st.sharing} data-testid="video-share" disabled={!live} onClick={() => void session?.toggleScreen()}>
          {st.sharing ? tt('stopShare') : tt('share')}
        </button>
      )}
      <button type="button" class="choice" aria-pressed={st.handRaised} data-testid="video-hand-button" disabled={!live} onClick={() => session?.raiseHand()}>
        {st.handRaised ? tt('lowerHand') : tt('raiseHand')}
      </button>
      <span class="video-layout-switch" role="group" aria-label={tt('layout')}>
        {(['grid', 'speaker'] as const).map((l) => (
          <button type="button" key={l} class="choice" aria-pressed={layout === l} data-testid={`video-layout-${l}`} onClick={() => setLayout(l)}>
            {tt(`layout.${l}`)}
          </button>
        ))}
      </span>
      <button type="button" class="button button--danger" data-testid="video-leave" onClick={() => session?.leave()}>
        {tt('leave')}
      </button>
    </div>
  );
}

function Problems({ st }: { st: SessionState }) {
  const { tt } = useVideoText();
  return (
    <>
      {st.deviceProblems.map((d) => (
        <p key={d} class="notice notice--warn" data-testid="video-device-problem" data-device={d}>
          {tt(`device.${d}` as VideoKey)}
        </p>
      ))}
      {st.error && (
        <p class="notice notice--warn" role="alert" data-testid="video-error" data-reason={st.error.reason}>
          {st.error.reason === 'PUBLISH_NOT_ALLOWED' || st.error.reason === 'INVALID_SDP'
            ? tt(`error.${st.error.reason}`)
            : tt('error', { reason: st.error.reason })}
        </p>
      )}
    </>
  );
}

function People({ st, nameOf }: { st: SessionState; nameOf: (p: Peer | undefined) => string }) {
  const { tt } = useVideoText();
  return (
    <section class="panel video-people" aria-labelledby="video-people-title" data-testid="video-people">
      <h2 id="video-people-title" class="section-title">
        {tt('people', { n: st.peers.length + (st.participantId ? 1 : 0) })}
      </h2>
      {st.peers.length === 0 ? (
        <p class="empty">{tt('alone')}</p>
      ) : (
        <ul class="video-people-list">
          {st.peers.map((p) => (
            <li key={p.participantId} data-testid="video-peer" data-participant-id={p.participantId} data-person-id={p.personId} data-hand={String(p.handRaised)}>
              <span class="video-name">{nameOf(p)}</span>
              {p.handRaised && <span class="video-badge video-badge--hand">{tt('handUp')}</span>}
              {p.participantId === st.activeSpeaker && <span class="video-badge video-badge--speaking">{tt('speaking')}</span>}
              {!watchOnly(p.permissions) && p.audioMuted && <span class="video-badge">{tt('muted')}</span>}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

function Ended({ st, onRejoin }: { st: SessionState; onRejoin: () => void }) {
  const { tt } = useVideoText();
  const e = st.end;
  const text =
    e && KNOWN_ENDS.has(e.reason) ? tt(`end.${e.reason}` as VideoKey) : tt('end.other', { reason: e?.message || e?.reason || e?.code || '' });
  return (
    <div class="panel video-ended" data-testid="video-ended" data-code={e?.code ?? ''} data-reason={e?.reason ?? ''}>
      <p>{text}</p>
      <button type="button" class="button button--primary" data-testid="video-rejoin" onClick={onRejoin}>
        {tt('rejoin')}
      </button>
    </div>
  );
}
