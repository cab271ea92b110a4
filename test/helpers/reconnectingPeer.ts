// A wrtc client that rejoins by itself, as our SDK does (client/Client.ts): when the server sends
// `reconnect` (its media node drains or was lost; the socket closes after it) or the socket drops, it
// joins the same room as the same user on a new WrtcPeer and publishes again (a new stream id).
import { WrtcPeer } from './wrtcPeer.ts';

/** Attempts after a loss; the first goes at once, then 250 ms doubling (the SDK's shape). */
const ATTEMPTS = 8;

export class ReconnectingPeer {
  readonly label: string;
  readonly #wsUrl: string;
  readonly #room: string;
  #peer: WrtcPeer;
  /** Successful rejoins. */
  reconnects = 0;
  /** `reason` of every `reconnect` notification received, oldest first. */
  readonly reasons: string[] = [];
  /** The last rejoin failure, for test messages. */
  lastError: unknown;
  #closed = false;

  private constructor(wsUrl: string, room: string, peer: WrtcPeer) {
    this.#wsUrl = wsUrl;
    this.#room = room;
    this.#peer = peer;
    this.label = peer.label;
    this.#watch(peer);
  }

  /** Connects, joins `room` as `uid` and publishes audio + video. */
  static async join(wsUrl: string, room: string, uid: string): Promise<ReconnectingPeer> {
    const peer = await WrtcPeer.connect(wsUrl, uid);
    try {
      await peer.join(room, uid);
      await peer.publish();
    } catch (err) {
      await peer.close();
      throw err;
    }
    return new ReconnectingPeer(wsUrl, room, peer);
  }

  /** The current connection (a new one after each rejoin). */
  get peer(): WrtcPeer {
    return this.#peer;
  }

  get publishedStreamId(): string | undefined {
    return this.#peer.publishedStreamId;
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.#peer.close();
  }

  #watch(peer: WrtcPeer): void {
    void peer.socketClosed.then(() => {
      if (this.#closed || peer !== this.#peer) {
        return;
      }
      for (const n of peer.notifications) {
        if (n.method === 'reconnect') {
          this.reasons.push(String((n.params as { reason?: unknown } | null)?.reason));
        }
      }
      void this.#rejoin(peer);
    });
  }

  async #rejoin(old: WrtcPeer): Promise<void> {
    await old.close();
    let delay = 250;
    for (let attempt = 1; attempt <= ATTEMPTS && !this.#closed; attempt++) {
      if (attempt > 1) {
        await new Promise((resolve) => setTimeout(resolve, delay));
        delay *= 2;
      }
      const peer = await WrtcPeer.connect(this.#wsUrl, this.label).catch((err: unknown) => {
        this.lastError = err;
        return undefined;
      });
      if (!peer) {
        continue;
      }
      try {
        await peer.join(this.#room, this.label);
        await peer.publish();
      } catch (err) {
        this.lastError = err;
        await peer.close();
        continue;
      }
      if (this.#closed) {
        await peer.close();
        return;
      }
      this.#peer = peer;
      this.reconnects++;
      this.#watch(peer);
      return;
    }
  }
}
