// Hostile SDP (issue #13): an offer may cost the server only a bounded, small amount of event-loop
// time, and each hostile class gets a clear `invalid SDP …` error, never werift's internals.
// The server runs as a child process, so a stalled event loop cannot stall the test's own clock.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { Publisher } from '../../src/media/Publisher.ts';
import { joinFrame, RawSocket, type RpcMessage } from '../helpers/rawSocket.ts';
import { startSwitchboard } from '../helpers/server.ts';
import { freePort } from '../helpers/services.ts';
import { waitFor } from '../helpers/waitFor.ts';
import { wsUrlOf } from '../helpers/wrtcPeer.ts';
import { audioOffer } from '../helpers/sdpFixtures.ts';

const BIN = fileURLToPath(new URL('../../bin/switchboard.js', import.meta.url));

/** A standalone server process (all roles, anonymous joins), stopped by its PID. */
class ServerProcess {
  readonly url: string;
  readonly #child: ChildProcess;
  readonly #dir: string;

  private constructor(child: ChildProcess, port: number, dir: string) {
    this.#child = child;
    this.url = `http://127.0.0.1:${port}`;
    this.#dir = dir;
  }

  static async start(): Promise<ServerProcess> {
    const dir = await mkdtemp(join(tmpdir(), 'sb-hostile-'));
    const file = join(dir, 'sb.toml');
    await writeFile(
      file,
      // One client refused again and again on purpose: the per-address limits would close it first.
      `[api]\ndatadir = ${JSON.stringify(dir)}\n[log]\nlevel = "error"\n[sfu]\nworkers = 1\n` +
        '[signal.limits]\njoinretries = 0\njoinrate = 0\n',
    );
    const port = await freePort();
    const child = spawn(process.execPath, [BIN, 'start', '--config', file, '--port', String(port)], {
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    const server = new ServerProcess(child, port, dir);
    await waitFor(async () => (await fetch(`${server.url}/healthz`).catch(() => undefined))?.ok === true, {
      timeout: 60_000,
      interval: 200,
      what: 'the server process to answer /healthz',
    });
    return server;
  }

  async stop(): Promise<void> {
    if (this.#child.exitCode === null && this.#child.signalCode === null) {
      // SIGKILL: a server whose event loop is stalled (the unfixed defect) would not handle SIGINT.
      this.#child.kill('SIGKILL');
      await once(this.#child, 'exit');
    }
    await rm(this.#dir, { recursive: true, force: true });
  }
}

/**
 * Sends `frame` on `ws` and, until its reply arrives, asks /healthz and a second client every 50 ms;
 * each must answer within 1 s. Resolves with the reply and the slowest answer (ms).
 */
async function whileResponsive(
  url: string,
  ws: RawSocket,
  id: number,
  frame: string,
): Promise<{ reply: RpcMessage; slowest: number }> {
  const other = await RawSocket.connect(wsUrlOf(url));
  let slowest = 0;
  let done = false;
  const probes = (async () => {
    for (let n = 0; !done; n++) {
      const t0 = performance.now();
      const health = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(1000) });
      assert.equal(health.status, 200);
      const rpc = await other.request<RpcMessage>(JSON.stringify({ id: n, method: 'nope' }), 1000);
      assert.equal(rpc.error?.code, -32601);
      slowest = Math.max(slowest, performance.now() - t0);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  })();
  try {
    ws.send(frame);
    const { reply } = await Promise.race([ws.replyTo(id, 60_000), probes.then(() => never())]);
    done = true;
    await probes;
    return { reply, slowest };
  } finally {
    done = true;
    await probes.catch(() => undefined);
    await other.close();
  }
}

const never = (): never => {
  throw new Error('unreachable');
};

void describe('hostile SDP', { timeout: 180_000 }, () => {
  let server: ServerProcess | undefined;
  const sockets: RawSocket[] = [];

  async function socket(): Promise<RawSocket> {
    const s = await RawSocket.connect(wsUrlOf(server!.url));
    sockets.push(s);
    return s;
  }

  before(async () => {
    server = await ServerProcess.start();
  });

  after(async () => {
    for (const s of sockets) {
      await s.close();
    }
    await server?.stop();
  });

  void it('a join with 1,500 unbundled m-sections is refused at once; /healthz and other clients keep answering within 1 s', async () => {
    const ws = await socket();
    const sdp = audioOffer(1500, { bundle: false });
    assert.ok(sdp.length > 150_000 && sdp.length < 256 * 1024, `offer of ${sdp.length} bytes`);
    const { reply, slowest } = await whileResponsive(server!.url, ws, 1, joinFrame(1, 'hostile-1', sdp));
    assert.equal(reply.error?.message, 'invalid SDP offer: too many media sections (1500 > 64)');
    assert.ok(slowest < 1000, `slowest probe ${slowest.toFixed(0)} ms`);
  });

  void it('400 unbundled and 400 bundled sections too (they stalled the loop 5 s and 0.3 s)', async () => {
    for (const bundle of [false, true]) {
      const ws = await socket();
      const { reply, slowest } = await whileResponsive(
        server!.url,
        ws,
        2,
        joinFrame(2, 'hostile-2', audioOffer(400, { bundle })),
      );
      assert.equal(reply.error?.message, 'invalid SDP offer: too many media sections (400 > 64)');
      assert.ok(slowest < 1000, `slowest probe ${slowest.toFixed(0)} ms`);
    }
  });

  void it('unbundled sections are refused; a bundled offer at the limit (64) is answered', async () => {
    const ws = await socket();
    ws.send(joinFrame(3, 'hostile-3', audioOffer(3, { bundle: false })));
    const { reply } = await ws.replyTo(3);
    assert.match(
      reply.error?.message ?? '',
      /^invalid SDP offer: media sections must share one BUNDLE group/,
    );
    const { reply: ok, slowest } = await whileResponsive(
      server!.url,
      ws,
      4,
      joinFrame(4, 'hostile-3', audioOffer(64)),
    );
    assert.equal(ok.error, undefined, JSON.stringify(ok.error));
    assert.equal((ok.result.sdp as string).split('\nm=').length - 1, 64);
    assert.ok(slowest < 1000, `slowest probe ${slowest.toFixed(0)} ms`);
  });

  void it('each hostile class gets a clear "invalid SDP offer" error, never werift\'s text', async () => {
    const many = (n: number, line: (j: number) => string) => (i: number) =>
      i === 0 ? Array.from({ length: n }, (_, j) => line(j)) : [];
    const cases: [string, string, RegExp][] = [
      [
        'rtpmap:999999999',
        audioOffer(2).replace('a=rtpmap:111 opus/48000/2', 'a=rtpmap:999999999 opus/48000/2'),
        /payload type "999999999" not on the m= line/,
      ],
      ['negative payload type', audioOffer(2).replace('a=rtpmap:111', 'a=rtpmap:-5'), /bad a=rtpmap/],
      ['payload type 128', audioOffer(2).replace(/111/g, '128'), /bad payload type "128"/],
      ['clock rate 0', audioOffer(2).replace(/opus\/48000\/2/g, 'opus/0/2'), /clock rate 0/],
      [
        '3,000 a=ssrc',
        audioOffer(2, { extra: many(3000, (j) => `a=ssrc:${j + 1} cname:x`) }),
        /more than 64 a=ssrc lines/,
      ],
      [
        '3,000 a=candidate',
        audioOffer(2, {
          extra: many(3000, (j) => `a=candidate:${j} 1 udp 1 10.9.${j >> 8}.${j & 255} 9 typ host`),
        }),
        /too many ICE candidates \(3000 > 64\)/,
      ],
      [
        '3,000 a=extmap',
        audioOffer(2, { extra: many(3000, (j) => `a=extmap:${(j % 254) + 1} urn:x:${j}`) }),
        /more than 64 a=extmap lines/,
      ],
      [
        'broken fingerprint',
        audioOffer(2).replace(/a=fingerprint:.*/, 'a=fingerprint:sha-256 AB:CD'),
        /bad a=fingerprint/,
      ],
      ['no ice-ufrag', audioOffer(2).replace(/a=ice-ufrag:.*\r\n/, ''), /has no ICE credentials/],
      ['no ice-pwd', audioOffer(2).replace(/a=ice-pwd:.*\r\n/, ''), /has no ICE credentials/],
    ];
    const ws = await socket();
    let id = 10;
    for (const [what, sdp, re] of cases) {
      ws.send(joinFrame(++id, 'hostile-4', sdp));
      const { reply } = await ws.replyTo(id);
      const message = reply.error?.message ?? '';
      assert.match(message, /^invalid SDP offer: /, `${what}: ${message}`);
      assert.match(message, re, what);
      assert.doesNotMatch(message, /Cannot|undefined|negotiation failed/, what);
    }
    assert.equal((await fetch(`${server!.url}/healthz`)).status, 200);
  });

  void it('renegotiation offers, answers and trickled candidates are bounded too', async () => {
    const ws = await socket();
    ws.send(joinFrame(30, 'hostile-5', audioOffer(2)));
    const { reply, seen } = await ws.replyTo(30);
    assert.equal(reply.error, undefined, JSON.stringify(reply.error));
    // The server offers its subscriber PC (the ion-sfu data channel) right after the join.
    let offer = seen.find((m) => m.method === 'offer');
    while (!offer) {
      const m = await ws.next<RpcMessage>(10_000);
      offer = m.method === 'offer' ? m : undefined;
    }
    const sections = (offer.params.sdp as string).split('\nm=').length - 1;

    ws.send(
      JSON.stringify({ id: 31, method: 'offer', params: { desc: { type: 'offer', sdp: audioOffer(1500) } } }),
    );
    assert.equal(
      (await ws.replyTo(31)).reply.error?.message,
      'invalid SDP offer: too many media sections (1500 > 64)',
    );
    const renegotiation = audioOffer(2).replace(
      'a=rtpmap:111 opus/48000/2',
      'a=rtpmap:999999999 opus/48000/2',
    );
    ws.send(
      JSON.stringify({ id: 32, method: 'offer', params: { desc: { type: 'offer', sdp: renegotiation } } }),
    );
    assert.match(
      (await ws.replyTo(32)).reply.error?.message ?? '',
      /^invalid SDP offer: a=rtpmap for payload type "999999999"/,
    );

    // Trickled candidates (the subscriber PC has no answer yet, so they wait): at most 64.
    let refusal: RpcMessage | undefined;
    for (let n = 0; n < 70 && !refusal; n++) {
      const candidate = {
        candidate: `candidate:${n} 1 udp 1 10.9.0.${n} 9 typ host`,
        sdpMid: '0',
        sdpMLineIndex: 0,
      };
      ws.send(JSON.stringify({ id: 100 + n, method: 'trickle', params: { target: 1, candidate } }));
      const r = (await ws.replyTo(100 + n)).reply;
      refusal = r.error ? r : undefined;
      if (refusal) {
        assert.equal(n, 64, `refused candidate ${n}`);
      }
    }
    assert.match(refusal?.error?.message ?? 'no refusal', /too many ICE candidates/);

    const answer = audioOffer(sections + 2).replace(/a=setup:actpass/g, 'a=setup:active');
    ws.send(JSON.stringify({ id: 33, method: 'answer', params: { desc: { type: 'answer', sdp: answer } } }));
    assert.equal(
      (await ws.replyTo(33)).reply.error?.message,
      `invalid SDP answer: ${sections + 2} media sections for an offer of ${sections}`,
    );
  });
});

void describe('unexpected failures', { timeout: 60_000 }, () => {
  void it('reach the client as "internal error (log id …)", without the error\'s own text', async () => {
    const sb = await startSwitchboard((c) => {
      c.log.level = 'silent';
    });
    const proto = Publisher.prototype as { answer: (sdp: string) => Promise<string> };
    const answer = Object.getOwnPropertyDescriptor(proto, 'answer')!;
    // What werift threw for the rtpmap:999999999 offer, now from wherever a bug may still be.
    proto.answer = () =>
      Promise.reject(new TypeError("Cannot set properties of undefined (setting 'parameters')"));
    try {
      const ws = await RawSocket.connect(wsUrlOf(sb.url));
      ws.send(joinFrame(1, 'internal', audioOffer(2)));
      const { reply } = await ws.replyTo(1);
      assert.match(reply.error?.message ?? '', /^internal error \(log id [0-9a-f]{8}\)$/);
      await ws.close();
    } finally {
      Object.defineProperty(proto, 'answer', answer);
      await sb.close();
    }
  });
});
