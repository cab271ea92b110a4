/**
 * `[webrtc.timeouts]` for every ICE agent of the node, on one timer (ION's pion agent has the same
 * three knobs): no traffic received for `disconnected` → the agent is disconnected (it reconnects by
 * itself when traffic resumes); no traffic for `disconnected + failed` → it has failed (the peer is
 * then closed and leaves its room); nothing sent for `keepalive` on a connected agent → a STUN
 * Binding indication keeps NAT bindings open (RFC 8445 §11; an ICE-lite server sends no checks).
 * Counting starts when the agent starts (gathering), so a client that never connects fails too.
 */

export interface IceTimeouts {
  disconnectedMs: number;
  failedMs: number;
  keepaliveMs: number;
}

/** What the monitor needs of one agent; werift.ts implements it for a werift `Connection`. */
export interface MonitoredAgent {
  /** A candidate pair is selected (media may flow). */
  connected(): boolean;
  /** The agent is closed or failed: stop watching it. */
  finished(): boolean;
  setDisconnected(): void;
  setReconnected(): void;
  fail(): void;
  sendKeepalive(): void;
}

/** Activity timestamps of one agent; the adapter bumps them on every datagram or frame. */
export class IceActivity {
  lastReceived = Date.now();
  lastSent = Date.now();
  received(): void {
    this.lastReceived = Date.now();
  }
  sent(): void {
    this.lastSent = Date.now();
  }
}

interface Entry {
  agent: MonitoredAgent;
  activity: IceActivity;
  disconnected: boolean;
}

export class IceMonitor {
  readonly timeouts: IceTimeouts;
  readonly #entries = new Set<Entry>();
  #timer: NodeJS.Timeout | undefined;

  constructor(timeouts: IceTimeouts) {
    this.timeouts = timeouts;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** Starts watching `agent`; returns its activity record and a function that stops watching. */
  watch(agent: MonitoredAgent): { activity: IceActivity; stop: () => void } {
    const entry: Entry = { agent, activity: new IceActivity(), disconnected: false };
    this.#entries.add(entry);
    if (!this.#timer) {
      const t = this.timeouts;
      const period = Math.min(1000, Math.max(100, Math.min(t.keepaliveMs, t.disconnectedMs) / 4));
      this.#timer = setInterval(() => this.sweep(Date.now()), period);
      this.#timer.unref();
    }
    return {
      activity: entry.activity,
      stop: () => {
        this.#entries.delete(entry);
        this.#stopIfIdle();
      },
    };
  }

  /** One pass over every agent (the timer calls it; tests may call it with a chosen `now`). */
  sweep(now: number): void {
    const t = this.timeouts;
    for (const e of [...this.#entries]) {
      if (e.agent.finished()) {
        this.#entries.delete(e);
        continue;
      }
      const silent = now - e.activity.lastReceived;
      if (silent >= t.disconnectedMs + t.failedMs) {
        this.#entries.delete(e);
        e.agent.fail();
        continue;
      }
      const connected = e.agent.connected();
      if (silent >= t.disconnectedMs) {
        if (connected && !e.disconnected) {
          e.disconnected = true;
          e.agent.setDisconnected();
        }
      } else if (e.disconnected) {
        e.disconnected = false;
        e.agent.setReconnected();
      }
      if (connected && now - e.activity.lastSent >= t.keepaliveMs) {
        e.activity.lastSent = now;
        e.agent.sendKeepalive();
      }
    }
    this.#stopIfIdle();
  }

  close(): void {
    this.#entries.clear();
    this.#stopIfIdle();
  }

  #stopIfIdle(): void {
    if (this.#entries.size === 0 && this.#timer) {
      clearInterval(this.#timer);
      this.#timer = undefined;
    }
  }
}
