// Join timeline in Chromium (issue #15): a publisher's demo page, then JOINS (default 8) pages join the
// room one after another; each records, in the page, when the SDK starts joining, when its publisher and
// subscriber PCs connect and when the first video frame is decoded; the medians are printed.
// A measurement, not a test (it asserts nothing): `JOINS=8 node test/run.js bench/browserJoin.test.ts`
// (as root: test/run.js puts it in the test network namespace).
import { it } from 'node:test';
import { launchBrowser } from '../test/helpers/browser.ts';
import { startSwitchboard } from '../test/helpers/server.ts';
import { waitFor } from '../test/helpers/waitFor.ts';

const N = Number(process.env.JOINS ?? 8);
void it('join timeline in Chromium', { timeout: 300_000 }, async () => {
  const sb = await startSwitchboard();
  const browser = await launchBrowser();
  const pub = await browser.newPage('pub');
  await pub.goto(`${sb.url}/?room=jt&name=pub&autojoin=1&simulcast=0`);
  await waitFor(async () => (await pub.evaluate('window.sb && window.sb.joined')) === true, {
    timeout: 30000,
    what: 'pub',
  });
  await new Promise((r) => setTimeout(r, 3000));
  const rows: Record<string, number>[] = [];
  for (let i = 0; i < N; i++) {
    const p = await browser.newPage(`j${i}`);
    await p.goto(`${sb.url}/?room=jt&name=j${i}&autojoin=1&simulcast=0`);
    const t = await p.evaluate(`(async () => {
      const out = {};
      const t0 = performance.now();
      while (performance.now() - t0 < 20000) {
        const now = Math.round(performance.now());
        const c = window.sb && window.sb.client;
        if (c && c.state === 'joining' && out.joining === undefined) out.joining = now;
        if (window.sb && window.sb.joined && out.joined === undefined) out.joined = now;
        if (c && c.subscriber && c.subscriber.connectionState === 'connected' && out.subConnected === undefined) out.subConnected = now;
        if (c && c.publisher && c.publisher.connectionState === 'connected' && out.pubConnected === undefined) out.pubConnected = now;
        if (c && c.subscriber && out.frame === undefined) {
          const r = await c.subscriber.getStats();
          r.forEach((s) => { if (s.type === 'inbound-rtp' && s.kind === 'video' && s.framesDecoded > 0 && out.frame === undefined) out.frame = Math.round(performance.now()); });
        }
        if (out.frame !== undefined && out.pubConnected !== undefined) break;
        await new Promise((r) => setTimeout(r, 5));
      }
      return out;
    })()`);
    rows.push(t as Record<string, number>);
    await p.close();
    await new Promise((r) => setTimeout(r, 700));
  }
  const keys = ['joining', 'joined', 'subConnected', 'pubConnected', 'frame'];
  const med = (k: string) => {
    const v = rows.map((r) => (r[k] ?? NaN) - (r.joining ?? 0)).sort((a, b) => a - b);
    return v[Math.floor(v.length / 2)];
  };
  console.log('JOINTIMES ' + JSON.stringify(rows));
  console.log(
    'MEDIAN after joining: ' +
      keys
        .slice(1)
        .map((k) => `${k} ${med(k)}`)
        .join(', '),
  );
  await browser.close();
  await sb.close();
});
