/** Checks after a fuzz run: a well-behaved client still gets in and talks; no peer or session is left. */
import { validOffer } from './hostileSdp.ts';
import { FuzzSocket } from './WsFuzzer.ts';

async function join(sock: FuzzSocket, room: string, uid: string): Promise<string | undefined> {
  let last = '';
  for (let attempt = 0; attempt < 10; attempt++) {
    const id = `ok-join-${uid}-${attempt}`;
    sock.send(
      JSON.stringify({
        jsonrpc: '2.0',
        id,
        method: 'join',
        params: { sid: room, uid, offer: { type: 'offer', sdp: validOffer() } },
      }),
    );
    const o = await sock.wait((r) => r.id === id, 15_000);
    if ('reply' in o && o.reply.error === undefined) {
      return undefined;
    }
    last =
      'reply' in o ? JSON.stringify(o.reply.error) : 'timeout' in o ? 'no reply' : `closed ${o.closed.code}`;
    if (!('reply' in o)) {
      break;
    }
    // A join-rate limit may still count the fuzzer's joins: wait and retry.
    await new Promise((r) => setTimeout(r, 500 * (attempt + 1)));
  }
  return `join of ${uid} failed: ${last}`;
}

/**
 * Two clients join one room and one sends the other a `room.message`. Returns what went wrong, or
 * undefined when the message arrived intact.
 */
export async function wellBehavedExchange(wsUrl: string, room: string): Promise<string | undefined> {
  const a = await FuzzSocket.open(wsUrl);
  const b = await FuzzSocket.open(wsUrl);
  try {
    const failed = (await join(a, room, 'fz-alice')) ?? (await join(b, room, 'fz-bob'));
    if (failed) {
      return failed;
    }
    const data = { text: 'still here', n: 13 };
    a.send(
      JSON.stringify({
        jsonrpc: '2.0',
        id: 'ok-msg',
        method: 'room.message',
        params: { to: 'fz-bob', data },
      }),
    );
    const o = await a.wait((r) => r.id === 'ok-msg', 10_000);
    if (!('reply' in o) || o.reply.error !== undefined) {
      return `room.message failed: ${'reply' in o ? JSON.stringify(o.reply.error) : 'no reply'}`;
    }
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      const got = b.notifications.find((n) => n.method === 'room.message');
      if (got) {
        const p = got.params as { from?: unknown; data?: unknown };
        return p.from === 'fz-alice' && JSON.stringify(p.data) === JSON.stringify(data)
          ? undefined
          : `room.message arrived altered: ${JSON.stringify(p)}`;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    return 'room.message never reached the other client';
  } finally {
    await a.close();
    await b.close();
  }
}

/** Sum of metric `name` in Prometheus text (undefined when absent). */
export function metricValue(text: string, name: string): number | undefined {
  let sum: number | undefined;
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{[^}]*\})?\s+(\S+)/.exec(line);
    if (m?.[1] === name && m[2] !== undefined) {
      sum = (sum ?? 0) + Number(m[2]);
    }
  }
  return sum;
}

export interface Counts {
  peers: number | undefined;
  sessions: number | undefined;
}

export async function peersAndSessions(httpUrl: string): Promise<Counts> {
  const text = await (await fetch(`${httpUrl}/metrics`)).text();
  return { peers: metricValue(text, 'sfu_peers'), sessions: metricValue(text, 'sfu_sessions') };
}

/** Waits until `/metrics` shows no peer and no session; returns the last counts seen. */
export async function waitForZero(
  httpUrl: string,
  timeoutMs = 20_000,
): Promise<{ ok: boolean; counts: Counts }> {
  const deadline = Date.now() + timeoutMs;
  let counts: Counts = { peers: undefined, sessions: undefined };
  while (Date.now() < deadline) {
    counts = await peersAndSessions(httpUrl).catch(() => counts);
    if (counts.peers === 0 && counts.sessions === 0) {
      return { ok: true, counts };
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return { ok: false, counts };
}
