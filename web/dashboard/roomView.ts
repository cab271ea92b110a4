/**
 * One room's card: its header (owner, settings, End room) and a table of participants, each followed by
 * the tracks it publishes (bitrate sparkline per track) and what it receives (total, and per
 * subscription on demand: bitrate and loss sparklines). Rows are keyed, so buttons and open rows stay
 * put across refreshes.
 */
import type {
  ParticipantStats,
  TransportStats,
  RecordingInfo,
  RoomInfo,
  RoomStats,
  SubscriptionStats,
  TrackStats,
  UserInfo,
} from './api.ts';
import {
  el,
  formatBitrate,
  formatCount,
  formatDuration,
  formatLoss,
  History,
  reconcile,
  setText,
  sparkline,
  type View,
} from './dom.ts';

/** What a room's card needs from the page. */
export interface RoomActions {
  kick(room: RoomModel, uid: string, name: string): void;
  mute(room: RoomModel, uid: string, kind: 'audio' | 'video', muted: boolean): void;
  record(room: RoomModel, uid: string): void;
  stopRecording(room: RoomModel, rec: RecordingInfo): void;
  endRoom(room: RoomModel): void;
  /** The operator opened or folded the card. */
  toggle(room: RoomModel, open: boolean): void;
}

/** A room as the last refresh saw it. */
export interface RoomModel {
  service: string;
  serviceName: string;
  /** More than one service is shown: name each room's. */
  showService: boolean;
  info: RoomInfo;
  open: boolean;
  users: UserInfo[] | undefined;
  stats: RoomStats | undefined;
  recordings: RecordingInfo[] | undefined;
  /** Why this room's figures could not be read, in plain words. */
  error: string | undefined;
}

/** A participant: its member record and its media figures, either of which may be missing. */
interface Member {
  uid: string;
  name: string;
  user: UserInfo | undefined;
  media: ParticipantStats | undefined;
}

type Row =
  | { type: 'member'; m: Member }
  | { type: 'track'; m: Member; t: TrackStats }
  | { type: 'receiving'; m: Member }
  | { type: 'sub'; m: Member; s: SubscriptionStats };

export const trackBitrate = (t: TrackStats): number => t.layers.reduce((n, l) => n + l.bitrate, 0);

function members(r: RoomModel): Member[] {
  const out = new Map<string, Member>();
  for (const u of r.users ?? []) {
    out.set(u.id, { uid: u.id, name: u.name, user: u, media: undefined });
  }
  for (const p of r.stats?.participants ?? []) {
    const m = out.get(p.uid);
    out.set(p.uid, { uid: p.uid, name: m?.name ?? p.name, user: m?.user, media: p });
  }
  const joined = (m: Member) => m.user?.joinedAt ?? m.media?.joinedAt ?? 0;
  return [...out.values()].sort((a, b) => joined(a) - joined(b) || a.uid.localeCompare(b.uid));
}

/**
 * How the client reaches us: "udp host → prflx · rtt 1.1 / 1.8 ms" (publisher / subscriber peer
 * connections; each named when they differ).
 */
function describeTransport(t: ParticipantStats['transport'] | undefined): string {
  const pair = (x: TransportStats | undefined): string | undefined =>
    x && x.protocol ? `${x.protocol} ${x.localType ?? '?'} → ${x.remoteType ?? '?'}` : undefined;
  const rtt = (x: TransportStats | undefined): string | undefined =>
    x?.rtt !== null && x?.rtt !== undefined ? `${x.rtt}` : undefined;
  const [pub, sub] = [pair(t?.publisher), pair(t?.subscriber)];
  const rtts = [rtt(t?.publisher), rtt(t?.subscriber)].filter((r) => r !== undefined);
  const rttText = rtts.length > 0 ? ` · rtt ${rtts.join(' / ')} ms` : '';
  if (pub === undefined && sub === undefined) {
    return '';
  }
  const pairs = pub === sub || sub === undefined ? pub! : pub === undefined ? sub : `up ${pub}, down ${sub}`;
  return `${pairs}${rttText}`;
}

function layersText(t: TrackStats): string {
  if (t.kind === 'audio' || t.layers.length === 0) {
    return `${formatCount(t.packets)} packets`;
  }
  return t.layers
    .map(
      (l) =>
        `${l.rid !== '' ? `${l.rid} ` : ''}${l.width > 0 ? `${l.width}×${l.height}` : '–'} ${l.paused ? 'paused (nobody watches)' : formatBitrate(l.bitrate)}`,
    )
    .join(' · ');
}

const codecName = (mime: string): string => mime.replace(/^(audio|video)\//i, '');

/** A sparkline cell: the figure in words (and in `data-value`, for tests) and its recent history. */
function figureCell(kind: 'bitrate' | 'loss'): {
  td: HTMLTableCellElement;
  set(value: number, history: number[]): void;
} {
  const value = el('span', { class: 'value' });
  const spark = sparkline(kind);
  const td = el('td', { class: `figure ${kind}` }, value, spark.el);
  return {
    td,
    set(v: number, history: number[]): void {
      setText(value, kind === 'bitrate' ? formatBitrate(v) : formatLoss(v));
      td.dataset.value = String(v);
      spark.draw(history, kind === 'loss' ? 0.05 : undefined);
    },
  };
}

export class RoomCard implements View<RoomModel> {
  readonly el: HTMLElement;
  readonly #title = el('h3');
  readonly #meta = el('span', { class: 'meta' });
  readonly #fold = el('button', {
    type: 'button',
    class: 'fold',
    'aria-expanded': 'true',
    title: 'Fold or open the room',
  });
  readonly #error = el('p', { class: 'room-error', role: 'alert', hidden: true });
  readonly #table: HTMLTableElement;
  readonly #body = el('tbody');
  readonly #empty = el('p', { class: 'empty', hidden: true }, 'Nobody is in this room.');
  readonly #actions: RoomActions;
  readonly #history: History;
  /** Participants whose per-subscription rows are shown. */
  readonly #expanded = new Set<string>();
  #model!: RoomModel;

  constructor(model: RoomModel, actions: RoomActions, history: History) {
    this.#actions = actions;
    this.#history = history;
    const end = el(
      'button',
      { type: 'button', class: 'danger small', 'data-action': 'end-room' },
      'End room',
    );
    end.addEventListener('click', () => actions.endRoom(this.#model));
    this.#fold.addEventListener('click', () => actions.toggle(this.#model, !this.#model.open));
    this.#table = el(
      'table',
      { class: 'participants' },
      el(
        'thead',
        {},
        el(
          'tr',
          {},
          el('th', {}, 'Participant / track'),
          el('th', {}, 'Where, layers'),
          el('th', {}, 'Bitrate'),
          el('th', {}, 'Loss'),
          el('th', {}, ''),
        ),
      ),
      this.#body,
    );
    this.el = el(
      'section',
      { class: 'room', 'data-room-id': model.info._id },
      el(
        'header',
        { class: 'room-head' },
        this.#fold,
        this.#title,
        this.#meta,
        el('span', { class: 'spacer' }),
        end,
      ),
      this.#error,
      this.#table,
      this.#empty,
    );
  }

  update(r: RoomModel): void {
    this.#model = r;
    const el0 = this.el;
    el0.dataset.roomName = r.info.name;
    el0.classList.toggle('folded', !r.open);
    this.#fold.setAttribute('aria-expanded', String(r.open));
    setText(this.#fold, r.open ? '▾' : '▸');
    setText(this.#title, r.info.name);
    const list = members(r);
    const owner = r.stats?.owner ?? undefined;
    const ownerDc = r.stats?.nodes.find((n) => n.node === owner)?.dc;
    const relays = (r.stats?.nodes ?? []).filter((n) => n.node !== owner).length;
    const meta = [
      `${list.length} participant${list.length === 1 ? '' : 's'}`,
      owner !== undefined ? `owner ${owner}${ownerDc !== undefined ? ` (${ownerDc})` : ''}` : undefined,
      owner !== undefined && relays > 0
        ? `relayed on ${relays} more node${relays === 1 ? '' : 's'}`
        : undefined,
      r.info.locked ? 'locked' : undefined,
      r.info.hasPassword ? 'password' : undefined,
      r.info.maxPeers ? `max ${r.info.maxPeers}` : undefined,
      r.showService ? `service ${r.serviceName}` : undefined,
      r.open ? undefined : 'folded: open it to follow its figures',
    ].filter((s) => s !== undefined);
    setText(this.#meta, meta.join(' · '));
    this.#error.hidden = r.error === undefined;
    setText(this.#error, r.error ?? '');
    this.#table.hidden = !r.open || list.length === 0;
    this.#empty.hidden = !r.open || list.length > 0 || r.users === undefined;
    if (!r.open) {
      return;
    }
    const rows: Row[] = [];
    for (const m of list) {
      rows.push({ type: 'member', m });
      for (const t of m.media?.tracks ?? []) {
        rows.push({ type: 'track', m, t });
      }
      if ((m.media?.subscriptions.length ?? 0) > 0) {
        rows.push({ type: 'receiving', m });
        if (this.#expanded.has(m.uid)) {
          for (const s of m.media!.subscriptions) {
            rows.push({ type: 'sub', m, s });
          }
        }
      }
    }
    const key = (x: Row): string =>
      x.type === 'member'
        ? `m:${x.m.uid}`
        : x.type === 'track'
          ? `t:${x.m.uid}:${x.t.trackId}`
          : x.type === 'receiving'
            ? `r:${x.m.uid}`
            : `s:${x.m.uid}:${x.s.trackId}`;
    reconcile(this.#body, rows, key, (x) => this.#row(x));
  }

  #row(x: Row): View<Row> {
    switch (x.type) {
      case 'member':
        return this.#memberRow();
      case 'track':
        return this.#trackRow();
      case 'receiving':
        return this.#receivingRow();
      case 'sub':
        return this.#subRow();
    }
  }

  #memberRow(): View<Row> {
    const name = el('strong');
    const uid = el('span', { class: 'uid' });
    const badge = el('span', { class: 'badge', hidden: true });
    const since = el('span', { class: 'since' });
    const place = el('span', { class: 'line' });
    const link = el('span', { class: 'line' });
    const where = el('td', { class: 'where' }, place, link);
    const up = el('td', { class: 'figure' });
    const button = (action: string, label: string, cls = 'small') =>
      el('button', { type: 'button', class: cls, 'data-action': action }, label);
    const muteAudio = button('mute-audio', 'Mute audio');
    const muteVideo = button('mute-video', 'Mute video');
    const record = button('record', 'Record');
    const kick = button('kick', 'Kick', 'small danger');
    const row = el(
      'tr',
      { class: 'participant' },
      el('td', { class: 'who' }, name, badge, uid, el('span', { class: 'line' }, since)),
      where,
      up,
      el('td'),
      el('td', { class: 'actions' }, muteAudio, muteVideo, record, kick),
    );
    let m: Member;
    const kindState = (kind: 'audio' | 'video') => {
      const tracks = (m.media?.tracks ?? []).filter((t) => t.kind === kind);
      return { any: tracks.length > 0, allMuted: tracks.length > 0 && tracks.every((t) => t.muted) };
    };
    const recording = () =>
      this.#model.recordings?.find((rec) => rec.state === 'recording' && rec.participant.identity === m.uid);
    for (const [btn, kind] of [
      [muteAudio, 'audio'],
      [muteVideo, 'video'],
    ] as const) {
      btn.addEventListener('click', () =>
        this.#actions.mute(this.#model, m.uid, kind, !kindState(kind).allMuted),
      );
    }
    record.addEventListener('click', () => {
      const rec = recording();
      if (rec) {
        this.#actions.stopRecording(this.#model, rec);
      } else {
        this.#actions.record(this.#model, m.uid);
      }
    });
    kick.addEventListener('click', () => this.#actions.kick(this.#model, m.uid, m.name));
    return {
      el: row,
      update: (x) => {
        m = x.m;
        row.dataset.uid = m.uid;
        setText(name, m.name || m.uid);
        setText(uid, m.name !== m.uid ? m.uid : '');
        const role = m.user?.host ? 'host' : m.user?.role;
        badge.hidden = role === undefined || role === 'guest' || role === 'presenter';
        setText(badge, role ?? '');
        const joined = m.user?.joinedAt ?? m.media?.joinedAt;
        setText(
          since,
          joined !== undefined ? `joined ${formatDuration((Date.now() - joined) / 1000)} ago` : '',
        );
        const node = m.media?.node ?? m.user?.node;
        const dc = m.media?.dc ?? m.user?.dc;
        setText(
          place,
          [
            node !== undefined ? `${node}${dc !== undefined ? ` · ${dc}` : ''}` : 'no media node yet',
            m.user?.protocol,
          ]
            .filter((s) => s !== undefined && s !== '')
            .join(' · '),
        );
        setText(link, describeTransport(m.media?.transport));
        const tracks = m.media?.tracks ?? [];
        setText(
          up,
          tracks.length > 0
            ? `up ${formatBitrate(tracks.reduce((n, t) => n + trackBitrate(t), 0))}`
            : 'publishes nothing',
        );
        for (const [btn, kind] of [
          [muteAudio, 'audio'],
          [muteVideo, 'video'],
        ] as const) {
          const s = kindState(kind);
          btn.disabled = !s.any;
          setText(btn, `${s.allMuted ? 'Unmute' : 'Mute'} ${kind}`);
          btn.classList.toggle('on', s.allMuted);
        }
        const rec = recording();
        record.disabled = !rec && tracks.length === 0;
        setText(record, rec ? 'Stop recording' : 'Record');
        record.classList.toggle('on', rec !== undefined);
      },
    };
  }

  #trackRow(): View<Row> {
    const what = el('span');
    const muted = el('span', { class: 'badge muted', hidden: true }, 'muted');
    const detail = el('td', { class: 'detail' });
    const bitrate = figureCell('bitrate');
    const row = el(
      'tr',
      { class: 'track' },
      el('td', { class: 'indent' }, what, muted),
      detail,
      bitrate.td,
      el('td'),
      el('td'),
    );
    return {
      el: row,
      update: (x) => {
        if (x.type !== 'track') {
          return;
        }
        const { m, t } = x;
        row.dataset.kind = t.kind;
        row.dataset.track = t.trackId;
        setText(what, `${t.kind} · ${codecName(t.codec)}`);
        muted.hidden = !t.muted;
        setText(detail, `${layersText(t)} · ${t.subscribers} subscriber${t.subscribers === 1 ? '' : 's'}`);
        const bps = trackBitrate(t);
        bitrate.set(bps, this.#history.push(`${this.#model.info._id}:${m.uid}:${t.trackId}:up`, bps));
      },
    };
  }

  /**
   * A row of what a participant receives: its first cell, a detail, and bitrate and loss with their
   * sparklines; `figures(key, bps, loss)` updates both and their history.
   */
  #downRow(cls: string, indent: string, first: Node) {
    const detail = el('td', { class: 'detail' });
    const bitrate = figureCell('bitrate');
    const loss = figureCell('loss');
    const row = el(
      'tr',
      { class: cls },
      el('td', { class: indent }, first),
      detail,
      bitrate.td,
      loss.td,
      el('td'),
    );
    const figures = (key: string, bps: number, lost: number): void => {
      const k = `${this.#model.info._id}:${key}`;
      bitrate.set(bps, this.#history.push(`${k}:bitrate`, bps));
      loss.set(lost, this.#history.push(`${k}:loss`, lost));
    };
    return { row, detail, figures };
  }

  #receivingRow(): View<Row> {
    const toggle = el('button', { type: 'button', class: 'link', 'aria-expanded': 'false' });
    const { row, detail, figures } = this.#downRow('receiving', 'indent', toggle);
    let uid = '';
    toggle.addEventListener('click', () => {
      if (!this.#expanded.delete(uid)) {
        this.#expanded.add(uid);
      }
      this.update(this.#model);
    });
    return {
      el: row,
      update: (x) => {
        const subs = x.m.media?.subscriptions ?? [];
        uid = x.m.uid;
        const open = this.#expanded.has(uid);
        toggle.setAttribute('aria-expanded', String(open));
        setText(toggle, `${open ? '▾' : '▸'} receives ${subs.length} track${subs.length === 1 ? '' : 's'}`);
        const est = x.m.media?.estimate;
        setText(
          detail,
          est !== null && est !== undefined
            ? `bandwidth estimate ${formatBitrate(est)}`
            : 'no bandwidth estimate yet',
        );
        figures(
          `${uid}:down`,
          subs.reduce((n, s) => n + s.bitrate, 0),
          subs.reduce((n, s) => Math.max(n, s.loss), 0),
        );
      },
    };
  }

  #subRow(): View<Row> {
    const what = el('span');
    const { row, detail, figures } = this.#downRow('subscription', 'indent2', what);
    return {
      el: row,
      update: (x) => {
        if (x.type !== 'sub') {
          return;
        }
        const { m, s } = x;
        const from = this.#model.stats?.participants.find((p) =>
          p.tracks.some((t) => t.trackId === s.trackId),
        );
        setText(
          what,
          `${from?.name ?? 'relayed'} · ${s.kind}${s.paused !== null ? ` (paused: ${s.paused})` : ''}`,
        );
        const layer =
          s.kind === 'video'
            ? `layer ${s.layer < 0 ? 'none' : s.layer}${s.targetLayer !== s.layer ? ` → ${s.targetLayer}` : ''} · `
            : '';
        setText(
          detail,
          [
            `${layer}${formatCount(s.packetsSent)} packets · ${s.nacks} NACKs · ${s.retransmitted} resent`,
            s.rtt !== null && s.rtt !== undefined ? `rtt ${Math.round(s.rtt)} ms` : undefined,
            s.jitter !== null && s.jitter !== undefined ? `jitter ${s.jitter} ms` : undefined,
          ]
            .filter((v) => v !== undefined)
            .join(' · '),
        );
        figures(`${m.uid}:${s.trackId}:down`, s.bitrate, s.loss);
      },
    };
  }
}
