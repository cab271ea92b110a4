/**
 * Demo conference page. Test hooks: `window.sb = {client, joined, error}`; remote tiles are
 * `.tile.remote[data-stream-id][data-uid]`, the loudest speaker's tile has `.speaking`; the page joins by
 * itself with `?room=R&name=N&autojoin=1` (and `&codec=vp9|h264` to publish another codec).
 */
import { Client } from '../client/index.ts';
import type { CloseReason, MediaKind, Participant, StreamInfo } from '../client/index.ts';

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

const tiles = new Map<string, RemoteTile>();
let localStream: MediaStream | null = null;
let leaving = false;

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

if (query.get('autojoin') === '1') {
  void join(roomInput.value.trim(), nameInput.value.trim());
}

// ---- join / leave ----------------------------------------------------------------------------------------

async function join(room: string, name: string): Promise<void> {
  if (room === '' || sb.client?.state === 'joining' || sb.joined) {
    return;
  }
  setError(null);
  joinButton.disabled = true;
  setStatus('Starting camera…');
  leaving = false;
  if (name !== '') {
    localStorage.setItem('switchboard.name', name);
  }

  // `?codec=vp9|h264|av1` prefers another video codec for what this page publishes (default VP8).
  const codec = query.get('codec');
  const client = new Client(codec === 'vp9' || codec === 'h264' || codec === 'av1' ? { codec } : {});
  sb.client = client;
  client.on('track', onTrack);
  client.on('streamremoved', removeTile);
  client.on('participants', onParticipants);
  client.on('speaker', onSpeaker);
  client.on('close', onClose);
  client.on('error', (err) => {
    // eslint-disable-next-line no-console
    console.warn('switchboard:', err);
  });

  try {
    localStream = await getMedia();
    showLocal(localStream, name);
    setStatus('Connecting…');
    await client.join(room, randomId(), name === '' ? {} : { name });
    if (localStream && localStream.getTracks().length > 0) {
      client.publish(localStream);
    }
    form.hidden = true;
    conference.hidden = false;
    roomLabel.textContent = `# ${room}`;
    history.replaceState(null, '', `?room=${encodeURIComponent(room)}`);
    setStatus(localStream ? 'Connected' : 'Connected: no camera or microphone, watching only');
    sb.joined = true;
  } catch (err) {
    leaving = true;
    client.close();
    stopLocal();
    setError(`Could not join: ${err instanceof Error ? err.message : String(err)}`);
    setStatus('');
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
  setError(`Disconnected (${reason})`);
  setStatus('');
}

function resetUi(): void {
  sb.joined = false;
  stopLocal();
  for (const id of [...tiles.keys()]) {
    removeTile(id);
  }
  unblockButton.hidden = true;
  conference.hidden = true;
  form.hidden = false;
  roomLabel.textContent = '';
}

// ---- local media -----------------------------------------------------------------------------------------

/** Camera and microphone if possible, else whichever works, else nothing (join to watch only). */
async function getMedia(): Promise<MediaStream | null> {
  const video: MediaTrackConstraints = {
    width: { ideal: 640 },
    height: { ideal: 360 },
    frameRate: { ideal: 30 },
  };
  const attempts: MediaStreamConstraints[] = [{ audio: true, video }, { audio: true }, { video }];
  for (const constraints of attempts) {
    try {
      return await navigator.mediaDevices.getUserMedia(constraints);
    } catch {
      // try the next, smaller request
    }
  }
  return null;
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
  if (!tile || tile.stream !== stream) {
    if (tile) {
      removeTile(stream.id);
    }
    tile = createTile(stream);
    tiles.set(stream.id, tile);
  }
  track.addEventListener('ended', () => {
    const current = tiles.get(stream.id);
    if (current?.stream === stream && stream.getTracks().every((t) => t.readyState === 'ended')) {
      removeTile(stream.id);
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
  el.append(video, avatar, label);
  grid.append(el);
  stream.addEventListener('addtrack', () => updateTile(tiles.get(stream.id)));
  return { el, video, name, avatar, stream };
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
