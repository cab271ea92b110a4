/**
 * Demo conference page. Test hooks: `window.sb = {client, joined, error}`; remote tiles are
 * `.tile.remote[data-stream-id][data-uid]`, the loudest speaker's tile has `.speaking`; the page joins by
 * itself with `?room=R&name=N&autojoin=1` (`&codec=vp9|h264` publishes another codec, `&simulcast=0` one
 * layer, `&publish=0` nothing). Without `autojoin` a pre-join screen (web/prejoin.ts) previews camera and microphone;
 * `?codec=` names a codec both the browser and the server must support, else the page says why and does not join.
 * Tiles are laid out by web/layout.ts (`#grid[data-layout=grid|speaker]`); a tile whose video is off for the
 * viewer has `.layer-off`, one waiting for a reconnect `.reconnecting`.
 * Access token: `?token=…` if given, else (anonymous mode) one from the dev-only `/api/dev/token`.
 */
import { Client, openMedia, setSpeaker, videoCodecProblem } from '../client/index.ts';
import type { CloseReason, MediaKind, Participant, StreamInfo, VideoCodec } from '../client/index.ts';
import { DevicePanel } from './devicePanel.ts';
import { savedDevice } from './devicePickers.ts';
import { TileLayout } from './layout.ts';
import { closeText, joinErrorText } from './messages.ts';
import { PreJoin } from './prejoin.ts';
import type { JoinChoice } from './prejoin.ts';
import { attachMeetingUi } from './meetingUi.ts';
import type { MeetingUi } from './meetingUi.ts';
import { missingMediaText, showMediaNotice } from './mediaNotice.ts';
import { showSecureOriginNotice } from './secureOrigin.ts';

interface SbHandle {
  client: Client | null;
  joined: boolean;
  /** Message of the last join/connection failure, null when none. */
  error: string | null;
}

declare global {
  interface Window {
    sb: SbHandle;
  }
}

interface RemoteTile {
  el: HTMLDivElement;
  video: HTMLVideoElement;
  name: HTMLSpanElement;
  avatar: HTMLDivElement;
  stream: MediaStream;
  /** The simulcast layer being received (from `activeLayer`); empty without simulcast. */
  layer: HTMLSpanElement;
  /** The viewer's quality choice. */
  picker: HTMLSelectElement;
}

const sb: SbHandle = { client: null, joined: false, error: null };
window.sb = sb;

function byId<T extends HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (!el) {
    throw new Error(`missing #${id}`);
  }
  return el as T;
}

const form = byId<HTMLFormElement>('join-form');
const roomInput = byId<HTMLInputElement>('room');
const nameInput = byId<HTMLInputElement>('name');
const joinButton = byId<HTMLButtonElement>('join');
const errorText = byId<HTMLParagraphElement>('error');
const conference = byId<HTMLElement>('conference');
const grid = byId<HTMLDivElement>('grid');
const localTile = byId<HTMLDivElement>('local-tile');
const localVideo = byId<HTMLVideoElement>('local-video');
const micButton = byId<HTMLButtonElement>('mic');
const camButton = byId<HTMLButtonElement>('cam');
const inviteButton = byId<HTMLButtonElement>('invite');
const leaveButton = byId<HTMLButtonElement>('leave');
const unblockButton = byId<HTMLButtonElement>('unblock-audio');
const roomLabel = byId<HTMLSpanElement>('room-label');
const statusText = byId<HTMLSpanElement>('status');
const layoutButton = byId<HTMLButtonElement>('layout');
const reconnectingBanner = byId<HTMLParagraphElement>('reconnecting');

const tiles = new Map<string, RemoteTile>();
let localStream: MediaStream | null = null;
/** Chat, people, screen sharing and stats of the current client (web/meetingUi.ts). */
let meetingUi: MeetingUi | null = null;
let leaving = false;
/** Why the room service disconnected us (`room.kicked` / `room.ended`), for the message on close. */
let removedBecause: string | null = null;
/** Audio output for remote tiles ('' = default). */
let speakerId = savedDevice('speaker');

// ---- form defaults ---------------------------------------------------------------------------------------

const query = new URLSearchParams(location.search);
roomInput.value = query.get('room') ?? 'demo';
nameInput.value = query.get('name') ?? localStorage.getItem('switchboard.name') ?? '';

form.addEventListener('submit', (ev) => {
  ev.preventDefault();
  void join(roomInput.value.trim(), nameInput.value.trim());
});
micButton.addEventListener('click', () => void toggleMute('audio'));
camButton.addEventListener('click', () => void toggleMute('video'));
leaveButton.addEventListener('click', () => leave());
inviteButton.addEventListener('click', () => void copyInvite());
unblockButton.addEventListener('click', () => {
  unblockButton.hidden = true;
  for (const tile of tiles.values()) {
    playTile(tile);
  }
});

showSecureOriginNotice();
const prejoin = new PreJoin({ video: videoConstraints(), codec: query.get('codec'), onError: setError });
/** The pre-join preview is open (not with `autojoin`, not in a call). */
let previewing = false;
const layout = new TileLayout(grid);
layoutButton.addEventListener('click', () => {
  layout.mode = layout.mode === 'grid' ? 'speaker' : 'grid';
  layoutButton.setAttribute('aria-pressed', String(layout.mode === 'speaker'));
  layoutButton.textContent = layout.mode === 'grid' ? 'Speaker view' : 'Grid view';
});
const devicePanel = new DevicePanel({
  button: byId('devices'),
  panel: byId('device-panel'),
  camera: byId('call-camera'),
  microphone: byId('call-mic'),
  speaker: byId('call-speaker'),
  tiles: grid,
  client: () => sb.client,
  video: videoConstraints,
  onSwitched: () => {
    localVideo.srcObject = localStream;
    updateLocalControls();
  },
  onStatus: setStatus,
});

if (query.get('autojoin') === '1') {
  void join(roomInput.value.trim(), nameInput.value.trim());
} else {
  startPreview();
}

function startPreview(): void {
  previewing = true;
  prejoin.start().catch((err: unknown) => setError(`Could not start the preview: ${joinErrorText(err)}`));
}

// ---- join / leave ----------------------------------------------------------------------------------------

async function join(room: string, name: string): Promise<void> {
  if (room === '' || sb.client?.state === 'joining' || sb.joined) {
    return;
  }
  // `?codec=vp9|h264` (or the pre-join picker) publishes another video codec than VP8: one both this
  // browser and the server support, else the page says why instead of sending VP8 anyway.
  const codec = previewing ? prejoin.codec : query.get('codec');
  const codecProblem = codec === null ? undefined : videoCodecProblem(codec);
  if (codecProblem !== undefined) {
    setError(`Could not join: ${codecProblem}`);
    return;
  }
  setError(null);
  joinButton.disabled = true;
  setStatus('Starting camera…');
  const choice: JoinChoice | null = previewing ? prejoin.take() : null;
  previewing = false;
  speakerId = choice?.speaker ?? speakerId;
  leaving = false;
  if (name !== '') {
    localStorage.setItem('switchboard.name', name);
  }

  removedBecause = null;
  const uid = randomId();
  const token = await accessToken(room, uid, name);
  const client = new Client({
    ...(codec !== null ? { codec: codec.toLowerCase() as VideoCodec } : {}),
    ...(token !== undefined ? { token } : {}),
  });
  sb.client = client;
  meetingUi?.detach();
  meetingUi = attachMeetingUi(client, {
    grid,
    localStream: () => localStream,
    onLocalMuted: updateLocalControls,
    status: setStatus,
  });
  client.on('notification', onRoomNotification);
  client.on('track', onTrack);
  client.on('streamremoved', onStreamGone);
  client.on('participants', onParticipants);
  client.on('speaker', onSpeaker);
  client.on('activelayer', (l) => {
    const tile = tiles.get(l.streamId);
    if (tile) {
      // No badge for a stream without simulcast: its one layer is not "low".
      tile.layer.textContent = l.activeLayer === 'none' || l.availableLayers.length <= 1 ? '' : l.activeLayer;
      showLayerOff(tile, l.activeLayer === 'none' || tile.picker.value === 'none');
    }
  });
  client.on('close', onClose);
  // The SDK rejoins by itself when the server asks (`reconnect`: its media node drains or died) or the
  // connection drops; meanwhile the page and its tiles show "Reconnecting…" (see onStreamGone).
  client.on('reconnecting', () => {
    setStatus('Connection lost: reconnecting…');
    setReconnecting(true);
  });
  client.on('reconnected', () => {
    setReconnecting(false);
    setStatus(localStream ? 'Connected' : 'Connected: watching only');
  });
  client.on('error', (err) => {
    // eslint-disable-next-line no-console
    console.warn('switchboard:', err);
  });

  try {
    // `?publish=0` joins to watch only.
    let mediaErrors: Error[] = [];
    if (query.get('publish') === '0') {
      choice?.stream?.getTracks().forEach((t) => t.stop());
      localStream = null;
    } else if (choice) {
      localStream = choice.stream;
      mediaErrors = choice.mediaErrors;
    } else {
      ({ stream: localStream, errors: mediaErrors } = await getMedia());
    }
    // "Join with camera off" / "join muted": the tracks are published disabled and muted on the server.
    const startMuted = (kind: MediaKind) => (kind === 'video' ? choice?.cameraOff : choice?.muted) === true;
    for (const track of localStream?.getTracks() ?? []) {
      track.enabled = !startMuted(track.kind as MediaKind);
    }
    showLocal(localStream, name);
    setStatus('Connecting…');
    await client.join(room, uid, name === '' ? {} : { name });
    if (localStream && localStream.getTracks().length > 0) {
      client.publish(localStream, { simulcast: simulcast() });
      const kinds = (['audio', 'video'] as const).filter(startMuted);
      if (kinds.length > 0) {
        void muteWhenListed(client, localStream, kinds);
      }
    }
    form.hidden = true;
    conference.hidden = false;
    roomLabel.textContent = `# ${room}`;
    history.replaceState(null, '', `?room=${encodeURIComponent(room)}`);
    setStatus(localStream ? 'Connected' : 'Connected: no camera or microphone, watching only');
    // Why a camera or microphone is missing (not by choice; an insecure origin has its own notice).
    if (query.get('publish') !== '0' && window.isSecureContext) {
      const sends = (k: MediaKind) => (localStream?.getTracks() ?? []).some((t) => t.kind === k);
      showMediaNotice(missingMediaText(sends('audio'), sends('video'), mediaErrors));
    }
    sb.joined = true;
  } catch (err) {
    leaving = true;
    client.close();
    stopLocal();
    setError(`Could not join: ${joinErrorText(err)}`);
    setStatus('');
    startPreview();
  } finally {
    joinButton.disabled = false;
  }
}

function leave(): void {
  leaving = true;
  sb.client?.close('client-leave');
  resetUi();
  setStatus('Left the room');
}

function onClose(reason: CloseReason): void {
  // join() reports its own failure; a leave needs no message.
  if (leaving || reason === 'join-failed') {
    return;
  }
  resetUi();
  setError(removedBecause ?? closeText(reason));
  setStatus('');
}

function onRoomNotification(method: string, params: unknown): void {
  const reason = (params as { reason?: unknown } | null)?.reason;
  const why = typeof reason === 'string' && reason !== '' ? `: ${reason}` : '';
  if (method === 'room.kicked') {
    removedBecause = `You were removed from the room${why}`;
  } else if (method === 'room.ended') {
    removedBecause = `The room was ended${why}`;
  }
}

/**
 * The page's `?token=…`, or in anonymous mode a token from the dev-only endpoint (404 otherwise: then
 * the join goes without one and a server that requires tokens says so).
 */
async function accessToken(room: string, uid: string, name: string): Promise<string | undefined> {
  const given = query.get('token');
  if (given) {
    return given;
  }
  try {
    const params = new URLSearchParams({ room, identity: uid, ...(name !== '' ? { name } : {}) });
    const res = await fetch(`/api/dev/token?${params.toString()}`);
    if (res.ok) {
      return ((await res.json()) as { token?: string }).token;
    }
  } catch {
    // no API on this server: join without a token
  }
  return undefined;
}

function resetUi(): void {
  sb.joined = false;
  meetingUi?.detach();
  meetingUi = null;
  stopLocal();
  for (const id of [...tiles.keys()]) {
    removeTile(id);
  }
  unblockButton.hidden = true;
  showMediaNotice(null);
  setReconnecting(false);
  void devicePanel.toggle(false);
  conference.hidden = true;
  form.hidden = false;
  roomLabel.textContent = '';
  if (!previewing) {
    startPreview();
  }
}

// ---- local media -----------------------------------------------------------------------------------------

/** Simulcast by default (three layers; the server pauses unwanted ones); `?simulcast=0` sends one. */
function simulcast(): boolean {
  return query.get('simulcast') !== '0';
}

/** Simulcast wants at least 960x540: below that Chrome drops the smallest of three layers. */
function videoConstraints(): MediaTrackConstraints {
  const hd = simulcast();
  return { width: { ideal: hd ? 960 : 640 }, height: { ideal: hd ? 540 : 360 }, frameRate: { ideal: 30 } };
}

/** Camera and microphone if possible, else whichever works, else nothing (join to watch only). */
async function getMedia(): Promise<{ stream: MediaStream | null; errors: Error[] }> {
  const { stream, errors } = await openMedia({ video: videoConstraints() });
  return { stream: stream.getTracks().length > 0 ? stream : null, errors };
}

function showLocal(stream: MediaStream | null, name: string): void {
  localVideo.muted = true;
  localVideo.srcObject = stream;
  localTile.dataset.streamId = stream?.id ?? '';
  setText(localTile, '.name', name === '' ? 'You' : `${name} (you)`);
  setText(localTile, '.avatar', initials(name === '' ? 'You' : name));
  const hasAudio = (stream?.getAudioTracks().length ?? 0) > 0;
  const hasVideo = (stream?.getVideoTracks().length ?? 0) > 0;
  micButton.disabled = !hasAudio;
  camButton.disabled = !hasVideo;
  localTile.classList.toggle('no-video', !hasVideo);
  updateLocalControls();
}

/**
 * Mutes our new stream's tracks on the server once the roster lists them: `mute` names a track the
 * server must already receive, and `publish` only starts the renegotiation that brings it.
 */
async function muteWhenListed(client: Client, stream: MediaStream, kinds: MediaKind[]): Promise<void> {
  // The roster lists a kind once the server receives that track.
  const listed = (peers: readonly Participant[]) =>
    peers.some((p) => p.streams.some((s) => s.streamId === stream.id && kinds.every((k) => s[k])));
  if (!listed(client.participants)) {
    await new Promise<void>((resolve) => {
      const stop = [
        client.on('participants', (peers) => listed(peers) && done()),
        client.on('close', () => done()),
      ];
      function done(): void {
        stop.forEach((off) => off());
        resolve();
      }
    });
  }
  for (const kind of kinds) {
    if (!client.closed) {
      await client
        .mute(kind, true)
        .catch((err: unknown) => setStatus(`Could not mute: ${joinErrorText(err)}`));
    }
  }
  updateLocalControls();
}

function stopLocal(): void {
  for (const track of localStream?.getTracks() ?? []) {
    track.stop();
  }
  localStream = null;
  localVideo.srcObject = null;
}

async function toggleMute(kind: MediaKind): Promise<void> {
  const client = sb.client;
  const track = kind === 'audio' ? localStream?.getAudioTracks()[0] : localStream?.getVideoTracks()[0];
  if (!client || !track) {
    return;
  }
  const button = kind === 'audio' ? micButton : camButton;
  button.disabled = true;
  try {
    await client.mute(kind, track.enabled);
  } catch (err) {
    setStatus(
      `Could not ${track.enabled ? 'mute' : 'unmute'}: ${err instanceof Error ? err.message : String(err)}`,
    );
  } finally {
    button.disabled = false;
    updateLocalControls();
  }
}

function updateLocalControls(): void {
  const audio = localStream?.getAudioTracks()[0];
  const video = localStream?.getVideoTracks()[0];
  const micMuted = audio !== undefined && !audio.enabled;
  const camMuted = video !== undefined && !video.enabled;
  micButton.setAttribute('aria-pressed', String(micMuted));
  micButton.textContent = micMuted ? 'Unmute mic' : 'Mute mic';
  camButton.setAttribute('aria-pressed', String(camMuted));
  camButton.textContent = camMuted ? 'Start camera' : 'Stop camera';
  localTile.classList.toggle('audio-muted', micMuted);
  localTile.classList.toggle('video-muted', camMuted);
}

// ---- remote tiles ----------------------------------------------------------------------------------------

function onTrack(track: MediaStreamTrack, stream: MediaStream): void {
  let tile = tiles.get(stream.id);
  if (tile && tile.stream !== stream) {
    // The same participant's stream on a new connection (after a reconnect): the tile stays in place.
    tile.stream = stream;
    tile.video.srcObject = stream;
    tile.el.classList.remove('reconnecting');
    stream.addEventListener('addtrack', () => updateTile(tiles.get(stream.id)));
  }
  if (!tile) {
    tile = createTile(stream);
    tiles.set(stream.id, tile);
  }
  track.addEventListener('ended', () => {
    const current = tiles.get(stream.id);
    if (current?.stream === stream && stream.getTracks().every((t) => t.readyState === 'ended')) {
      onStreamGone(stream.id);
    }
  });
  updateTile(tile);
  playTile(tile);
}

function createTile(stream: MediaStream): RemoteTile {
  const el = document.createElement('div');
  el.className = 'tile remote';
  el.dataset.streamId = stream.id;
  el.dataset.uid = '';
  const video = document.createElement('video');
  video.autoplay = true;
  video.playsInline = true;
  video.srcObject = stream; // not muted: this element also plays the participant's audio
  const avatar = document.createElement('div');
  avatar.className = 'avatar';
  avatar.setAttribute('aria-hidden', 'true');
  const label = document.createElement('div');
  label.className = 'label';
  const name = document.createElement('span');
  name.className = 'name';
  const micOff = document.createElement('span');
  micOff.className = 'mic-off';
  micOff.title = 'Muted';
  label.append(name, micOff);
  // The viewer's layer choice: a ceiling for the server's automatic choice (ion-sfu's preferLayer).
  const picker = document.createElement('select');
  picker.className = 'layer-picker';
  picker.title = 'Video quality';
  for (const [value, text] of [
    ['high', 'High'],
    ['medium', 'Medium'],
    ['low', 'Low'],
    ['none', 'Off'],
  ] as const) {
    picker.append(new Option(text, value));
  }
  picker.addEventListener('change', () => {
    sb.client?.preferLayer(stream.id, picker.value as 'high' | 'medium' | 'low' | 'none');
    const tile = tiles.get(stream.id);
    if (tile) {
      // "Off": the tile shows the participant as video-off at once, not the last frame received.
      showLayerOff(tile, picker.value === 'none');
    }
  });
  const layer = document.createElement('span');
  layer.className = 'layer';
  el.append(video, avatar, label, picker, layer);
  grid.append(el);
  stream.addEventListener('addtrack', () => updateTile(tiles.get(stream.id)));
  if (speakerId !== '') {
    setSpeaker(video, speakerId).catch(() => undefined);
  }
  return { el, video, name, avatar, stream, layer, picker };
}

function showLayerOff(tile: RemoteTile, off: boolean): void {
  tile.el.classList.toggle('layer-off', off);
  if (off) {
    tile.layer.textContent = '';
  }
}

/**
 * A remote stream ended. While the client reconnects its tile stays, marked "Reconnecting…" (not a
 * frozen frame), and takes the stream again when it comes back; otherwise the tile goes.
 */
function onStreamGone(streamId: string): void {
  const tile = tiles.get(streamId);
  if (tile && sb.client?.state === 'reconnecting') {
    tile.el.classList.add('reconnecting');
    return;
  }
  removeTile(streamId);
}

/** Tiles still waiting this long after a reconnect belong to streams that did not come back. */
const RECONNECT_GRACE_MS = 10_000;

function setReconnecting(on: boolean): void {
  conference.classList.toggle('reconnecting', on);
  reconnectingBanner.hidden = !on;
  localTile.classList.toggle('reconnecting', on);
  if (on) {
    for (const tile of tiles.values()) {
      tile.el.classList.add('reconnecting');
    }
    return;
  }
  setTimeout(() => {
    for (const [id, tile] of tiles) {
      if (tile.el.classList.contains('reconnecting') && sb.client?.state === 'joined') {
        removeTile(id);
      }
    }
  }, RECONNECT_GRACE_MS);
}

function playTile(tile: RemoteTile): void {
  tile.video.play().catch((err: unknown) => {
    // Autoplay with sound needs a user gesture in most browsers; offer one.
    if (err instanceof DOMException && err.name === 'NotAllowedError') {
      unblockButton.hidden = false;
    }
  });
}

function removeTile(streamId: string): void {
  const tile = tiles.get(streamId);
  if (!tile) {
    return;
  }
  tiles.delete(streamId);
  tile.video.srcObject = null;
  tile.el.remove();
}

/** Label, data-uid and mute state of a tile, from the latest roster. */
function updateTile(tile: RemoteTile | undefined): void {
  if (!tile) {
    return;
  }
  const found = findStream(tile.stream.id);
  const label = found ? found.peer.name || found.peer.uid : 'Connecting…';
  tile.el.dataset.uid = found?.peer.uid ?? '';
  tile.name.textContent = label;
  tile.avatar.textContent = initials(label);
  tile.el.classList.toggle('audio-muted', found?.info.audioMuted === true);
  tile.el.classList.toggle('video-muted', found?.info.videoMuted === true);
  tile.el.classList.toggle(
    'no-video',
    tile.stream.getVideoTracks().length === 0 || found?.info.video === false,
  );
}

function findStream(streamId: string): { peer: Participant; info: StreamInfo } | undefined {
  for (const peer of sb.client?.participants ?? []) {
    const info = peer.streams.find((s) => s.streamId === streamId);
    if (info) {
      return { peer, info };
    }
  }
  return undefined;
}

function onParticipants(peers: Participant[]): void {
  for (const tile of tiles.values()) {
    updateTile(tile);
  }
  const others = peers.length - 1;
  setStatus(others <= 0 ? 'Only you here' : `${others} other${others === 1 ? '' : 's'} here`);
}

function onSpeaker(streamIds: string[]): void {
  const loudest = streamIds[0];
  for (const el of grid.querySelectorAll<HTMLElement>('.tile')) {
    el.classList.toggle('speaking', loudest !== undefined && el.dataset.streamId === loudest);
  }
}

// ---- helpers ---------------------------------------------------------------------------------------------

async function copyInvite(): Promise<void> {
  const url = `${location.origin}${location.pathname}?room=${encodeURIComponent(sb.client?.sid ?? roomInput.value)}`;
  try {
    await navigator.clipboard.writeText(url);
    setStatus('Invite link copied');
  } catch {
    setStatus(url);
  }
}

function setText(root: HTMLElement, selector: string, text: string): void {
  const el = root.querySelector(selector);
  if (el) {
    el.textContent = text;
  }
}

function setStatus(text: string): void {
  statusText.textContent = text;
}

function setError(text: string | null): void {
  sb.error = text;
  errorText.hidden = text === null;
  errorText.textContent = text ?? '';
}

function initials(name: string): string {
  const parts = name.trim().split(/\s+/).filter(Boolean);
  return parts
    .slice(0, 2)
    .map((p) => p[0] ?? '')
    .join('');
}

/** A random user id; `crypto.randomUUID` needs a secure context, `getRandomValues` does not. */
function randomId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(8));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}
