/**
 * The operator's dashboard (served at `/dashboard`, see src/api/dashboard.ts). Every 1.5 s it reads the
 * REST API (rooms of every service it may see, each open room's statistics, users and recordings, the
 * media nodes) and updates the page in place: summary figures, rooms → participants → tracks with
 * sparklines, recordings in progress, the node map. Actions (kick, mute, record, end a room) are REST
 * calls too. Test hook: `window.dashboard = {refreshes, error}`.
 */
import {
  Api,
  ApiError,
  roomPath,
  type NodeInfo,
  type RecordingInfo,
  type RoomInfo,
  type RoomStats,
  type UserInfo,
} from './api.ts';
import {
  el,
  formatBitrate,
  formatBytes,
  formatCount,
  formatDuration,
  History,
  reconcile,
  setText,
  type View,
} from './dom.ts';
import { drawNodeMap, type RoomPlacement } from './nodeMap.ts';
import { RoomCard, trackBitrate, type RoomActions, type RoomModel } from './roomView.ts';

interface DashboardHandle {
  /** Completed refreshes. */
  refreshes: number;
  /** The last refresh's failure, in words; null when it worked. */
  error: string | null;
}

declare global {
  interface Window {
    dashboard: DashboardHandle;
  }
}

const REFRESH_MS = 1500;
/** With more rooms than this, rooms start folded (their figures are not polled until opened). */
const OPEN_ROOMS_AT_MOST = 12;

const handle: DashboardHandle = { refreshes: 0, error: null };
window.dashboard = handle;

function byId<T extends Element>(id: string): T {
  const e = document.getElementById(id);
  if (!e) {
    throw new Error(`missing #${id}`);
  }
  return e as unknown as T;
}

const api = new Api();
const history = new History();
const statusText = byId<HTMLElement>('status');
const errorBox = byId<HTMLElement>('error');
const noticeBox = byId<HTMLElement>('notice');
const roomsEl = byId<HTMLElement>('rooms');
const noRooms = byId<HTMLElement>('no-rooms');
const recordingsBody = byId<HTMLElement>('recordings-body');
const noRecordings = byId<HTMLElement>('no-recordings');
const nodeMap = byId<SVGSVGElement>('node-map');
const nodesBody = byId<HTMLElement>('nodes-body');
const nodesNote = byId<HTMLElement>('nodes-note');
const summary = {
  rooms: byId<HTMLElement>('sum-rooms'),
  participants: byId<HTMLElement>('sum-participants'),
  tracks: byId<HTMLElement>('sum-tracks'),
  up: byId<HTMLElement>('sum-up'),
  down: byId<HTMLElement>('sum-down'),
  nodes: byId<HTMLElement>('sum-nodes'),
  recordings: byId<HTMLElement>('sum-recordings'),
};

/** The operator's fold / open choice per room (else the default for the number of rooms). */
const openChoice = new Map<string, boolean>();
let rooms: RoomModel[] = [];
let nodes: NodeInfo[] | undefined;
let nodesError: string | undefined;
let timer: ReturnType<typeof setTimeout> | undefined;
let busy = false;
let again = false;

const wordsOf = (err: unknown): string =>
  err instanceof ApiError
    ? err.status > 0
      ? `${err.message} (HTTP ${err.status})`
      : err.message
    : err instanceof Error
      ? err.message
      : String(err);

let noticeTimer: ReturnType<typeof setTimeout> | undefined;
/** A passing message: an action done, or failed (then in the error colour). */
function notice(text: string, failed = false): void {
  setText(noticeBox, text);
  noticeBox.classList.toggle('failed', failed);
  noticeBox.hidden = false;
  clearTimeout(noticeTimer);
  noticeTimer = setTimeout(() => (noticeBox.hidden = true), failed ? 10_000 : 5000);
}

/** Reads everything once. A room that fails keeps its last figures and says why. */
async function refresh(): Promise<void> {
  const services = await api.services();
  const superToken = services.find((s) => s.superservice);
  const nodesCall = superToken
    ? api.call<{ nodes: NodeInfo[] }>(superToken.service, 'GET', '/nodes').then(
        (r) => ({ nodes: r.nodes, error: undefined }),
        (err: unknown) => ({ nodes: undefined, error: `The node list could not be read: ${wordsOf(err)}` }),
      )
    : Promise.resolve({
        nodes: undefined,
        error: 'The node map needs the superservice: sign in with its id and key.',
      });
  const lists = await Promise.all(
    services.map(async (s) => ({ s, rooms: await api.call<RoomInfo[]>(s.service, 'GET', '/rooms') })),
  );
  const all = lists.flatMap(({ s, rooms: list }) => list.map((info) => ({ s, info })));
  const openByDefault = all.length <= OPEN_ROOMS_AT_MOST;
  const previous = new Map(rooms.map((r) => [r.info._id, r]));
  const next = await Promise.all(
    all.map(async ({ s, info }): Promise<RoomModel> => {
      const id = info._id;
      const open = openChoice.get(id) ?? openByDefault;
      const before = previous.get(id);
      const get = <T>(path: string) => api.call<T>(s.service, 'GET', roomPath(id, path));
      const model: RoomModel = {
        service: s.service,
        serviceName: s.name,
        showService: services.length > 1,
        info,
        open,
        users: before?.users,
        stats: open ? before?.stats : undefined,
        recordings: open ? before?.recordings : undefined,
        error: undefined,
      };
      try {
        const [users, stats, recordings] = await Promise.all([
          get<UserInfo[]>('/users'),
          open ? get<RoomStats>('/stats') : undefined,
          open ? get<RecordingInfo[]>('/recordings') : undefined,
        ]);
        return { ...model, users, stats, recordings };
      } catch (err) {
        return { ...model, error: `This room's figures could not be read: ${wordsOf(err)}` };
      }
    }),
  );
  rooms = next.sort((a, b) => a.info.name.localeCompare(b.info.name));
  ({ nodes, error: nodesError } = await nodesCall);
}

function render(): void {
  reconcile(
    roomsEl,
    rooms,
    (r) => r.info._id,
    (r) => new RoomCard(r, actions, history),
  );
  noRooms.hidden = rooms.length > 0;
  renderSummary();
  renderRecordings();
  renderNodes();
  history.sweep();
}

function renderSummary(): void {
  const open = rooms.filter((r) => r.stats);
  const participants = rooms.reduce((n, r) => n + (r.users?.length ?? 0), 0);
  const media = open.flatMap((r) => r.stats!.participants);
  const tracks = media.flatMap((p) => p.tracks);
  setText(summary.rooms, formatCount(rooms.length));
  setText(summary.participants, formatCount(participants));
  setText(summary.tracks, formatCount(tracks.length));
  setText(summary.up, formatBitrate(tracks.reduce((n, t) => n + trackBitrate(t), 0)));
  setText(
    summary.down,
    formatBitrate(media.flatMap((p) => p.subscriptions).reduce((n, s) => n + s.bitrate, 0)),
  );
  setText(summary.nodes, nodes ? formatCount(nodes.length) : '–');
  setText(summary.recordings, formatCount(inProgress().length));
}

function inProgress(): { room: RoomModel; rec: RecordingInfo }[] {
  return rooms.flatMap((room) =>
    (room.recordings ?? []).filter((rec) => rec.state === 'recording').map((rec) => ({ room, rec })),
  );
}

function recordingRow(): View<{ room: RoomModel; rec: RecordingInfo }> {
  const cells = [
    el('td'),
    el('td'),
    el('td'),
    el('td', { class: 'num' }),
    el('td', { class: 'num' }),
    el('td'),
  ];
  const stop = el(
    'button',
    { type: 'button', class: 'small danger', 'data-action': 'stop-recording' },
    'Stop',
  );
  let current: { room: RoomModel; rec: RecordingInfo };
  stop.addEventListener('click', () => actions.stopRecording(current.room, current.rec));
  const row = el('tr', {}, ...cells, el('td', { class: 'actions' }, stop));
  return {
    el: row,
    update: (x) => {
      current = x;
      const { room, rec } = x;
      row.dataset.recording = rec.id;
      const who = rec.participant.name || rec.participant.identity;
      const texts = [
        room.info.name,
        who,
        `${rec.format} · ${rec.tracks.map((t) => t.kind).join(' + ') || 'waiting for media'}`,
        formatDuration((Date.now() - rec.startedAt) / 1000),
        formatBytes(rec.size),
        rec.node,
      ];
      cells.forEach((c, i) => setText(c, texts[i] ?? ''));
    },
  };
}

function renderRecordings(): void {
  const list = inProgress();
  reconcile(recordingsBody, list, (x) => `${x.room.info._id}:${x.rec.id}`, recordingRow);
  noRecordings.hidden = list.length > 0;
}

function renderNodes(): void {
  const roomName = (id: string) => rooms.find((r) => r.info._id === id)?.info.name ?? id.slice(0, 8);
  const placements: RoomPlacement[] = rooms
    .filter((r) => r.stats)
    .map((r) => ({
      name: r.info.name,
      // Before the server reported `owner`: the node whose lease names the room.
      owner: r.stats!.owner ?? nodes?.find((n) => n.owns.includes(r.info._id))?.node,
      nodes: r.stats!.nodes.map((n) => n.node),
    }));
  nodesNote.hidden = nodesError === undefined;
  setText(nodesNote, nodesError ?? '');
  drawNodeMap(nodeMap, nodes ?? [], placements, roomName);
  const now = Date.now();
  reconcile(
    nodesBody,
    nodes ?? [],
    (n) => n.node,
    () => {
      const cells = Array.from({ length: 9 }, (_, i) => el('td', { class: i >= 2 && i <= 7 ? 'num' : '' }));
      const row = el('tr', {}, ...cells);
      return {
        el: row,
        update: (n: NodeInfo) => {
          row.dataset.node = n.node;
          row.classList.toggle('draining', n.draining === true);
          const texts = [
            n.node,
            n.dc ?? '–',
            `${n.peers}${n.maxPeers ? ` / ${n.maxPeers}` : ''}`,
            `${n.tracks}`,
            `${n.relays ?? 0}`,
            `${Math.round(n.cpu)} %`,
            formatBytes(n.rss),
            n.eventLoopDelayMs !== undefined ? `${n.eventLoopDelayMs.toFixed(1)} ms` : '–',
            `${n.owns.map(roomName).join(', ') || '–'}${n.draining ? ' (draining)' : ''}${now - n.at > 5000 ? ` · heartbeat ${formatDuration((now - n.at) / 1000)} ago` : ''}`,
          ];
          cells.forEach((c, i) => setText(c, texts[i] ?? ''));
        },
      };
    },
  );
}

/** Runs one action, tells the operator how it went, and refreshes at once. */
async function act(what: string, done: string, call: () => Promise<unknown>): Promise<void> {
  try {
    await call();
    notice(done);
  } catch (err) {
    notice(`${what} failed: ${wordsOf(err)}`, true);
  }
  schedule(0);
}

const actions: RoomActions = {
  kick(room, uid, name) {
    if (!confirm(`Remove ${name} from room ${room.info.name}? Their clients are disconnected.`)) {
      return;
    }
    void act(`Removing ${name}`, `${name} was removed from ${room.info.name}.`, () =>
      api.call(room.service, 'DELETE', roomPath(room.info._id, `/users/${encodeURIComponent(uid)}`)),
    );
  },
  mute(room, uid, kind, muted) {
    const verb = muted ? 'Muting' : 'Unmuting';
    void act(`${verb} ${kind} of ${uid}`, `${uid}'s ${kind} is ${muted ? 'muted' : 'unmuted'}.`, () =>
      api.call(room.service, 'POST', roomPath(room.info._id, `/users/${encodeURIComponent(uid)}/mute`), {
        kind,
        muted,
      }),
    );
  },
  record(room, uid) {
    void act(`Starting a recording of ${uid}`, `Recording ${uid} in ${room.info.name}.`, () =>
      api.call(room.service, 'POST', roomPath(room.info._id, '/recordings'), { uid }),
    );
  },
  stopRecording(room, rec) {
    void act('Stopping the recording', `The recording ${rec.id} is stopped.`, () =>
      api.call(room.service, 'DELETE', roomPath(room.info._id, `/recordings/${encodeURIComponent(rec.id)}`)),
    );
  },
  endRoom(room) {
    if (
      !confirm(`End the meeting in ${room.info.name}? Everyone in it is disconnected; the room itself stays.`)
    ) {
      return;
    }
    void act(`Ending ${room.info.name}`, `The meeting in ${room.info.name} has ended.`, () =>
      api.call(room.service, 'POST', roomPath(room.info._id, '/end'), { reason: 'ended by the operator' }),
    );
  },
  toggle(room, open) {
    openChoice.set(room.info._id, open);
    schedule(0);
  },
};

function schedule(ms: number): void {
  clearTimeout(timer);
  timer = setTimeout(() => void tick(), ms);
}

/** One refresh, then the next one REFRESH_MS after it ends; never two at once (an action's asks again). */
async function tick(): Promise<void> {
  if (busy) {
    again = true;
    return;
  }
  busy = true;
  clearTimeout(timer);
  try {
    await refresh();
    handle.error = null;
    errorBox.hidden = true;
    setText(statusText, `Updated ${new Date().toLocaleTimeString()} · every ${REFRESH_MS / 1000} s`);
  } catch (err) {
    handle.error = wordsOf(err);
    setText(errorBox, `The dashboard could not refresh: ${handle.error}. It keeps trying.`);
    errorBox.hidden = false;
    setText(statusText, `Last refresh failed at ${new Date().toLocaleTimeString()}`);
  }
  try {
    render();
    handle.refreshes++;
  } finally {
    busy = false;
    schedule(again ? 0 : REFRESH_MS);
    again = false;
  }
}

schedule(0);
