/**
 * The room service's side of a meeting, over a `Client`'s socket: who is in the room and their role,
 * the room's lock, chat over `room.message`, host controls (`room.mute`, `room.kick`, `room.lock`) and
 * which streams are screen shares (a peer's `info.screen`, set by `ScreenShare` with `room.updatePeer`).
 */
import type { Client } from './Client.ts';
import { Emitter } from './Emitter.ts';
import { InvalidStateError } from './errors.ts';
import type { MediaKind, Participant } from './types.ts';

export type PeerRole = 'host' | 'guest';

/** A member of the room as the room service lists it (`room.joined`, `room.peer`). */
export interface RoomPeer {
  uid: string;
  name: string;
  role: PeerRole;
  joinedAt: number;
  /** Free-form, set by the peer with `room.updatePeer`; `{screen: streamId}` marks a screen share. */
  info?: unknown;
}

/** The room's settings as members see them (`room.joined`, `room.updated`). */
export interface RoomState {
  id: string;
  name: string;
  locked: boolean;
  hasPassword: boolean;
  maxPeers: number;
}

export interface ChatMessage {
  /** Sender's uid. */
  from: string;
  /** Sender's display name (its uid when it gave none). */
  name: string;
  text: string;
  /** Sender's clock, ms since the epoch. */
  sentAt: number;
  /** Sent by this client. */
  self: boolean;
}

/** One participant with its media state: the room service's member joined with the media roster. */
export interface MemberView {
  uid: string;
  name: string;
  role: PeerRole;
  self: boolean;
  /** Publishes audio / video (camera; the screen share is not counted). */
  audio: boolean;
  video: boolean;
  audioMuted: boolean;
  videoMuted: boolean;
  /** Stream id of the participant's screen share, when it shares. */
  screen: string | undefined;
}

export type RemovedKind = 'kicked' | 'ended';

export type MeetingEvents = {
  /** The room's members changed (join, leave, name, role, info); includes ourselves. */
  peers: [peers: RoomPeer[]];
  /** Our role changed (joined as host, `room.setRole`). */
  role: [role: PeerRole];
  /** The room's settings changed (lock, password, max peers). */
  room: [room: RoomState];
  /** A chat message, ours included (when sent). */
  chat: [message: ChatMessage];
  /** A `room.message` that is not chat. */
  message: [from: string, data: unknown, type: string | undefined];
  /** The room service removed us: `reason` is what the host or the server gave, in words. */
  removed: [kind: RemovedKind, reason: string];
};

/** `room.message` type of chat; its data is `{text, sentAt}`. */
export const CHAT_TYPE = 'chat';
/** Longest chat text sent, in characters. */
export const MAX_CHAT_LENGTH = 4000;

/**
 * Attach before `client.join()` so `room.joined` is not missed:
 *
 * ```ts
 * const client = new Client();
 * const meeting = new Meeting(client);
 * meeting.on('chat', (m) => show(`${m.name}: ${m.text}`));
 * await client.join('demo', 'alice', { name: 'Alice' });
 * await meeting.sendChat('hello');
 * if (meeting.isHost) await meeting.lock(true);
 * ```
 */
export class Meeting extends Emitter<MeetingEvents> {
  readonly client: Client;
  #self: RoomPeer | undefined;
  #room: RoomState | undefined;
  readonly #peers = new Map<string, RoomPeer>();
  /** Our own `info`, merged by `setInfo` and sent again after a reconnect (a rejoin starts without). */
  #info: Record<string, unknown> = {};
  readonly #history: ChatMessage[] = [];
  readonly #off: (() => void)[] = [];

  constructor(client: Client) {
    super();
    this.client = client;
    this.#off.push(
      client.on('notification', (method, params) => this.#onNotification(method, params)),
      client.on('reconnected', () => {
        if (Object.keys(this.#info).length > 0) {
          void this.#sendInfo().catch(() => undefined);
        }
      }),
      client.on('close', () => this.close()),
    );
  }

  /** Our role; `guest` until `room.joined` arrives. */
  get role(): PeerRole {
    return this.#self?.role ?? 'guest';
  }

  get isHost(): boolean {
    return this.role === 'host';
  }

  /** Our uid as the room knows it (a token's identity), once joined. */
  get uid(): string | undefined {
    return this.#self?.uid ?? this.client.uid;
  }

  get room(): RoomState | undefined {
    return this.#room;
  }

  /** The room's members, ourselves first. */
  get peers(): RoomPeer[] {
    return [...(this.#self ? [this.#self] : []), ...this.#peers.values()];
  }

  /** Chat messages since joining, oldest first. */
  get chatHistory(): readonly ChatMessage[] {
    return this.#history;
  }

  /** Stream ids that are screen shares (ours included). */
  get screenStreams(): Set<string> {
    const ids = new Set<string>();
    for (const p of this.peers) {
      const id = screenOf(p.info);
      if (id !== undefined) {
        ids.add(id);
      }
    }
    return ids;
  }

  isScreen(streamId: string): boolean {
    return this.screenStreams.has(streamId);
  }

  /**
   * Everyone with their mute states: the room's members (role, name) joined with the media roster
   * (`client.participants`: streams and mutes). A member that has not published yet has no media.
   */
  members(): MemberView[] {
    const media = new Map<string, Participant>(this.client.participants.map((p) => [p.uid, p]));
    const rows: MemberView[] = [];
    const seen = new Set<string>();
    for (const peer of this.peers) {
      seen.add(peer.uid);
      rows.push(memberView(peer, media.get(peer.uid), peer.uid === this.uid));
    }
    // In the media roster but not (yet) announced by the room service.
    for (const p of media.values()) {
      if (!seen.has(p.uid)) {
        rows.push(
          memberView({ uid: p.uid, name: p.name, role: 'guest', joinedAt: 0 }, p, p.uid === this.uid),
        );
      }
    }
    return rows;
  }

  /** Sends a chat message to everyone (`room.message`, type `chat`); resolves with it as shown locally. */
  async sendChat(text: string): Promise<ChatMessage> {
    const trimmed = text.trim();
    if (trimmed === '') {
      throw new TypeError('sendChat: empty message');
    }
    if (trimmed.length > MAX_CHAT_LENGTH) {
      throw new TypeError(`sendChat: longer than ${MAX_CHAT_LENGTH} characters`);
    }
    const sentAt = Date.now();
    await this.client.call('room.message', { to: 'all', type: CHAT_TYPE, data: { text: trimmed, sentAt } });
    const uid = this.uid ?? '';
    const message: ChatMessage = { from: uid, name: this.#nameOf(uid), text: trimmed, sentAt, self: true };
    this.#addChat(message);
    return message;
  }

  /** Merges `patch` into our `info` (null removes a key) and sends it with `room.updatePeer`. */
  async setInfo(patch: Record<string, unknown>): Promise<void> {
    for (const [key, value] of Object.entries(patch)) {
      if (value === null || value === undefined) {
        delete this.#info[key];
      } else {
        this.#info[key] = value;
      }
    }
    await this.#sendInfo();
  }

  /** Host: mutes a participant's audio or video (all its streams); only the owner can unmute. */
  async mute(uid: string, kind: MediaKind): Promise<void> {
    await this.client.call('room.mute', { uid, kind, muted: true });
  }

  /** Host: removes a participant; `reason` is shown to them. */
  async kick(uid: string, reason?: string): Promise<void> {
    await this.client.call('room.kick', { uid, ...(reason !== undefined ? { reason } : {}) });
  }

  /** Host: locks (no one new may join, but hosts) or unlocks the room. */
  async lock(locked: boolean): Promise<RoomState> {
    const info = await this.client.call<RoomState>(locked ? 'room.lock' : 'room.unlock', {});
    this.#setRoom(info);
    return info;
  }

  /** Stops listening to the client. Called by itself when the client closes. */
  close(): void {
    for (const off of this.#off.splice(0)) {
      off();
    }
  }

  async #sendInfo(): Promise<void> {
    if (this.client.state !== 'joined') {
      throw new InvalidStateError(`setInfo: client is ${this.client.state}`);
    }
    const peer = await this.client.call<unknown>('room.updatePeer', { info: { ...this.#info } });
    const parsed = parsePeer(peer);
    if (parsed) {
      this.#updatePeer(parsed);
    }
  }

  #onNotification(method: string, params: unknown): void {
    const p = isObject(params) ? params : {};
    switch (method) {
      case 'room.joined': {
        this.#peers.clear();
        const self = parsePeer(p.self);
        const peers = Array.isArray(p.peers) ? p.peers.map(parsePeer) : [];
        for (const peer of peers) {
          if (peer) {
            this.#peers.set(peer.uid, peer);
          }
        }
        this.#setRoom(p.room);
        if (self) {
          this.#self = self;
          this.emit('role', self.role);
        }
        this.emit('peers', this.peers);
        return;
      }
      case 'room.peer': {
        const peer = parsePeer(p.peer);
        if (!peer) {
          return;
        }
        if (p.state === 'leave') {
          this.#peers.delete(peer.uid);
          this.emit('peers', this.peers);
        } else {
          this.#updatePeer(peer);
        }
        return;
      }
      case 'room.updated':
        this.#setRoom(p.room);
        return;
      case 'room.message':
        this.#onMessage(p);
        return;
      case 'room.kicked':
      case 'room.ended': {
        const kind: RemovedKind = method === 'room.kicked' ? 'kicked' : 'ended';
        const reason = typeof p.reason === 'string' ? p.reason : '';
        this.emit('removed', kind, reason);
        return;
      }
      default:
    }
  }

  #updatePeer(peer: RoomPeer): void {
    if (peer.uid === this.uid) {
      const roleChanged = this.#self?.role !== peer.role;
      this.#self = peer;
      if (roleChanged) {
        this.emit('role', peer.role);
      }
    } else {
      this.#peers.set(peer.uid, peer);
    }
    this.emit('peers', this.peers);
  }

  #setRoom(value: unknown): void {
    if (!isObject(value) || typeof value.id !== 'string') {
      return;
    }
    this.#room = {
      id: value.id,
      name: typeof value.name === 'string' ? value.name : value.id,
      locked: value.locked === true,
      hasPassword: value.hasPassword === true,
      maxPeers: typeof value.maxPeers === 'number' ? value.maxPeers : 0,
    };
    this.emit('room', this.#room);
  }

  #onMessage(p: Record<string, unknown>): void {
    const from = typeof p.from === 'string' ? p.from : '';
    const type = typeof p.type === 'string' ? p.type : undefined;
    const data = p.data;
    if (type !== CHAT_TYPE || !isObject(data) || typeof data.text !== 'string') {
      this.emit('message', from, data, type);
      return;
    }
    this.#addChat({
      from,
      name: this.#nameOf(from),
      text: data.text.slice(0, MAX_CHAT_LENGTH),
      sentAt: typeof data.sentAt === 'number' ? data.sentAt : Date.now(),
      self: false,
    });
  }

  #addChat(message: ChatMessage): void {
    this.#history.push(message);
    this.emit('chat', message);
  }

  #nameOf(uid: string): string {
    const peer = uid === this.uid ? this.#self : this.#peers.get(uid);
    const name = peer?.name || this.client.participants.find((p) => p.uid === uid)?.name;
    return name || uid;
  }
}

function memberView(peer: RoomPeer, media: Participant | undefined, self: boolean): MemberView {
  const screen = screenOf(peer.info);
  const streams = (media?.streams ?? []).filter((s) => s.streamId !== screen);
  return {
    uid: peer.uid,
    name: peer.name || media?.name || peer.uid,
    role: peer.role,
    self,
    audio: streams.some((s) => s.audio),
    video: streams.some((s) => s.video),
    audioMuted: streams.some((s) => s.audio && s.audioMuted),
    videoMuted: streams.some((s) => s.video && s.videoMuted),
    screen: screen !== undefined && media?.streams.some((s) => s.streamId === screen) ? screen : undefined,
  };
}

/** The stream id a peer's `info` names as its screen share. */
export function screenOf(info: unknown): string | undefined {
  return isObject(info) && typeof info.screen === 'string' && info.screen !== '' ? info.screen : undefined;
}

function parsePeer(value: unknown): RoomPeer | undefined {
  if (!isObject(value) || typeof value.uid !== 'string') {
    return undefined;
  }
  return {
    uid: value.uid,
    name: typeof value.name === 'string' ? value.name : '',
    role: value.role === 'host' ? 'host' : 'guest',
    joinedAt: typeof value.joinedAt === 'number' ? value.joinedAt : 0,
    ...(value.info !== undefined ? { info: value.info } : {}),
  };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}
