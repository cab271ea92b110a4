import { randomUUID } from 'node:crypto';
import { Peer } from './Peer.ts';
import { Session } from './Session.ts';
import type { MediaOptions, Participant, SignalSink } from './types.ts';
import { TypedEmitter } from '../util/TypedEmitter.ts';

export type SFUEvents = {
  session: [Session];
  peer: [Peer, Session];
  participants: [Session, Participant[]];
};

export interface JoinRequest {
  sid: string;
  uid: string;
  name: string;
  offer: string;
  sink: SignalSink;
}

/** The media core of one node: sessions by id. It knows nothing of the Bus, the Store or sockets. */
export class SFU extends TypedEmitter<SFUEvents> {
  readonly options: MediaOptions;
  readonly #sessions = new Map<string, Session>();
  /** Packets and bytes of receivers and downtracks that have closed, so counters stay monotonic. */
  readonly totals = { packetsIn: 0, bytesIn: 0, packetsOut: 0, bytesOut: 0 };

  constructor(options: MediaOptions) {
    super();
    this.options = options;
  }

  get sessions(): IterableIterator<Session> {
    return this.#sessions.values();
  }

  getSession(sid: string): Session | undefined {
    return this.#sessions.get(sid);
  }

  /** Creates the peer and answers its publisher offer. A second join with the same uid replaces the first. */
  async join(req: JoinRequest): Promise<{ peer: Peer; answer: string }> {
    const session = this.#session(req.sid);
    session.findByUid(req.uid)?.close('duplicate-identity');
    const peer = new Peer(randomUUID(), req.uid, req.name, this.options, req.sink, session.observeAudio);
    this.#account(peer);
    try {
      const answer = await peer.offer(req.offer);
      if (peer.closed) {
        throw new Error('peer closed during join');
      }
      session.addPeer(peer);
      this.safeEmit('peer', peer, session);
      return { peer, answer };
    } catch (err) {
      peer.close('client-leave');
      if (session.size === 0) {
        session.close();
      }
      throw err;
    }
  }

  close(): void {
    for (const s of [...this.#sessions.values()]) {
      s.close();
    }
    this.#sessions.clear();
  }

  #session(sid: string): Session {
    let s = this.#sessions.get(sid);
    if (!s) {
      const o = this.options;
      const session = new Session(sid, {
        threshold: o.audioLevelThreshold,
        intervalMs: o.audioLevelIntervalMs,
        filter: o.audioLevelFilter,
      });
      session.once('close', () => {
        if (this.#sessions.get(sid) === session) {
          this.#sessions.delete(sid);
        }
      });
      session.on('participants', (list) => this.safeEmit('participants', session, list));
      this.#sessions.set(sid, session);
      this.safeEmit('session', session);
      s = session;
    }
    return s;
  }

  #account(peer: Peer): void {
    peer.on('receiver', (r) =>
      r.once('close', () => {
        this.totals.packetsIn += r.packets;
        this.totals.bytesIn += r.bytes;
      }),
    );
    peer.on('downTrackClose', (dt) => {
      this.totals.packetsOut += dt.packetsSent;
      this.totals.bytesOut += dt.bytesSent;
    });
  }
}
