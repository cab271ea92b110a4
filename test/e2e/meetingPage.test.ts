// The demo page as a meeting app (issue #19), in headless Chromium with three fake cameras: the pre-join
// preview shows video and remembers the name; three participants fit the window in grid and speaker view
// at 1280x720 and 390x844 with every control visible (screenshots in test-output/meeting/; with
// SB_DOC_IMAGES=1 also docs/images/meeting-grid.png and meeting-phone.png, the README's); switching the
// camera mid-call keeps the others decoding; quality "Off" shows the participant as video-off with no
// badge, a stream without simulcast has no layer badge; `?codec=av1` is refused in words.
import assert from 'node:assert/strict';
import { copyFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { launchBrowser, type TestBrowser } from '../helpers/browser.ts';
import { inboundStats, remoteTiles } from '../helpers/pageStats.ts';
import { startSwitchboard, type RunningSwitchboard } from '../helpers/server.ts';
import { waitFor } from '../helpers/waitFor.ts';

const ROOM = 'meeting';
const TIMEOUT = 30_000;
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const OUTPUT = join(ROOT, 'test-output', 'meeting');

/** Frames the pre-join preview has shown. */
const PREVIEW_FRAMES = `(() => {
  const v = document.getElementById('preview');
  return v && v.videoWidth > 0 ? v.getVideoPlaybackQuality().totalVideoFrames : 0;
})()`;

/** Elements outside the viewport or of no size: the controls, the visible tiles (and their overlaps). */
const LAYOUT_PROBLEMS = `(() => {
  const problems = [];
  const vw = window.innerWidth, vh = window.innerHeight;
  const inside = (el, what) => {
    const r = el.getBoundingClientRect();
    if (r.width < 1 || r.height < 1) problems.push(what + ' has no size');
    else if (r.left < -0.5 || r.top < -0.5 || r.right > vw + 0.5 || r.bottom > vh + 0.5)
      problems.push(what + ' at ' + [r.left, r.top, r.right, r.bottom].map(Math.round).join(',') + ' is outside ' + vw + 'x' + vh);
    return r;
  };
  const buttons = Array.from(document.querySelectorAll('#conference .controls button')).filter((b) => !b.hidden);
  if (!buttons.some((b) => b.id === 'leave')) problems.push('no Leave button');
  buttons.forEach((b) => inside(b, 'button ' + (b.id || b.textContent)));
  const tiles = Array.from(document.querySelectorAll('#grid .tile')).filter((t) => !t.hidden);
  const rects = tiles.map((t, i) => inside(t, 'tile ' + i));
  rects.forEach((a, i) => rects.slice(i + 1).forEach((b) => {
    if (a.left < b.right - 1 && b.left < a.right - 1 && a.top < b.bottom - 1 && b.top < a.bottom - 1) problems.push('tiles overlap');
  }));
  const controls = document.querySelector('#conference .controls').getBoundingClientRect();
  rects.forEach((r, i) => { if (r.bottom > controls.top + 1) problems.push('tile ' + i + ' runs under the controls'); });
  return problems;
})()`;

void describe('meeting page', { timeout: 300_000 }, () => {
  let sb: RunningSwitchboard | undefined;
  let browser: TestBrowser | undefined;
  let alice: Page;
  let bob: Page;
  let carol: Page;

  before(async () => {
    sb = await startSwitchboard();
    // Three fake cameras, so the camera can be switched in a call. Chromium's second fake camera sends
    // Y16 (a depth format no encoder takes: the video stops); the third sends MJPEG like a webcam.
    browser = await launchBrowser({ extraArgs: ['--use-fake-device-for-media-stream=device-count=3'] });
    await mkdir(OUTPUT, { recursive: true });
  });

  after(async () => {
    await browser?.close();
    await sb?.close();
  });

  /** The stream id of the remote tile whose participant is `uid`-named `name` on `page`. */
  async function streamOf(page: Page, name: string): Promise<string> {
    return waitFor(
      () =>
        page.evaluate<string | undefined>(`(() => {
          const c = window.sb.client;
          const p = c && c.participants.find((x) => x.name === ${JSON.stringify(name)});
          return p && p.streams[0] ? p.streams[0].streamId : undefined;
        })()`),
      { timeout: TIMEOUT, what: `${name}'s stream in the roster` },
    );
  }

  /** framesDecoded of one remote stream's video on `page`. */
  async function framesOf(page: Page, streamId: string): Promise<number> {
    const track = await page.evaluate<string | undefined>(`(() => {
      const s = window.sb.client && window.sb.client.remoteStreams.get(${JSON.stringify(streamId)});
      const t = s && s.getVideoTracks()[0];
      return t ? t.id : undefined;
    })()`);
    const stats = await inboundStats(page);
    return stats?.video.find((v) => v.track === track)?.framesDecoded ?? 0;
  }

  async function decodingGrows(page: Page, streamId: string, what: string): Promise<void> {
    const start = await waitFor(async () => (await framesOf(page, streamId)) || undefined, {
      timeout: TIMEOUT,
      what: `${what}: first frames`,
    });
    await waitFor(async () => (await framesOf(page, streamId)) > start + 30, {
      timeout: TIMEOUT,
      what: `${what}: 30 more frames`,
    });
  }

  void it('the pre-join screen previews the camera (frames advancing), lists two cameras, has Join on screen, and remembers the name', async () => {
    alice = await browser!.newPage('alice');
    await alice.setViewportSize({ width: 1280, height: 720 });
    await alice.goto(`${sb!.url}/?room=${ROOM}`);
    const first = await waitFor(() => alice.evaluate<number>(PREVIEW_FRAMES), {
      timeout: TIMEOUT,
      what: 'the preview to show video',
    });
    await waitFor(async () => (await alice.evaluate<number>(PREVIEW_FRAMES)) > first + 10, {
      timeout: TIMEOUT,
      what: 'the preview frames to advance',
    });
    await waitFor(async () => (await alice.locator('#camera-select option').count()) >= 2, {
      timeout: TIMEOUT,
      what: 'two cameras in the picker',
    });
    assert.ok((await alice.locator('#mic-select option').count()) >= 1, 'a microphone is listed');
    // Chromium's fake microphone beeps: the meter moves.
    await waitFor(
      async () =>
        Number(await alice.evaluate<string>(`document.getElementById('mic-level').dataset.level || '0'`)) >
        0.01,
      { timeout: TIMEOUT, what: 'the microphone level meter to move' },
    );
    // The Join button is on screen without scrolling, at desktop and at phone size.
    for (const [width, height] of [
      [390, 844],
      [1280, 720],
    ] as const) {
      await alice.setViewportSize({ width, height });
      await waitFor(
        () =>
          alice.evaluate<boolean>(`(() => {
            const r = document.getElementById('join').getBoundingClientRect();
            return r.height > 0 && r.top >= 0 && r.bottom <= window.innerHeight && r.right <= window.innerWidth;
          })()`),
        { timeout: 5_000, what: `the Join button inside ${width}x${height}` },
      );
    }
    await alice.fill('#name', 'Alice');
    await alice.reload();
    await waitFor(async () => (await alice.inputValue('#name')) === 'Alice', {
      timeout: TIMEOUT,
      what: 'the name to be remembered after a reload',
    });
    await waitFor(() => alice.evaluate<number>(PREVIEW_FRAMES), {
      timeout: TIMEOUT,
      what: 'the preview again',
    });
  });

  void it('alice joins from the pre-join screen; bob (simulcast) and carol (?simulcast=0) join; everybody decodes', async () => {
    await alice.click('#join');
    await waitFor(() => alice.evaluate<boolean>('window.sb.joined'), {
      timeout: TIMEOUT,
      what: 'alice to join',
    });
    bob = await browser!.newPage('bob');
    await bob.goto(`${sb!.url}/?room=${ROOM}&name=bob&autojoin=1`);
    carol = await browser!.newPage('carol');
    await carol.goto(`${sb!.url}/?room=${ROOM}&name=carol&autojoin=1&simulcast=0`);
    for (const [page, who] of [
      [alice, 'alice'],
      [bob, 'bob'],
      [carol, 'carol'],
    ] as const) {
      await waitFor(
        async () => {
          const s = await inboundStats(page);
          return (s?.video.filter((v) => v.framesDecoded > 20).length ?? 0) >= 2;
        },
        { timeout: TIMEOUT, what: `${who} to decode both others` },
      );
    }
  });

  void it('a stream without simulcast has no layer badge; a simulcast one shows its layer', async () => {
    const carolStream = await streamOf(alice, 'carol');
    const bobStream = await streamOf(alice, 'bob');
    const badge = (id: string) =>
      alice.evaluate<string>(
        `(document.querySelector('.tile.remote[data-stream-id="${id}"] .layer') || {}).textContent || ''`,
      );
    await waitFor(async () => (await badge(bobStream)) !== '', {
      timeout: TIMEOUT,
      what: "bob's layer badge",
    });
    assert.equal(await badge(carolStream), '', "carol's single layer is not badged");
  });

  void it('quality "Off" shows the participant as video-off: no frozen frame, no badge', async () => {
    const aliceStream = await streamOf(bob, 'Alice');
    const tile = `.tile.remote[data-stream-id="${aliceStream}"]`;
    await bob.selectOption(`${tile} .layer-picker`, 'none');
    const state = () =>
      bob.evaluate<{ off: boolean; video: string; avatar: string; badge: string }>(`(() => {
        const t = document.querySelector('${tile}');
        return {
          off: t.classList.contains('layer-off'),
          video: getComputedStyle(t.querySelector('video')).visibility,
          avatar: getComputedStyle(t.querySelector('.avatar')).display,
          badge: t.querySelector('.layer').textContent,
        };
      })()`);
    const off = await waitFor(
      async () => {
        const s = await state();
        return s.off && s.video === 'hidden' && s.avatar !== 'none' ? s : undefined;
      },
      { timeout: TIMEOUT, what: "alice's tile on bob's page to show video off" },
    );
    assert.equal(off.badge, '');
    // The server stops the video (activeLayer 'none'); the tile stays video-off and unbadged.
    let last = -1;
    let since = Date.now();
    await waitFor(
      async () => {
        const frames = await framesOf(bob, aliceStream);
        if (frames !== last) {
          last = frames;
          since = Date.now();
          return false;
        }
        return Date.now() - since > 1500;
      },
      { timeout: TIMEOUT, what: "bob's decoder to stop receiving alice's video" },
    );
    const still = await state();
    assert.ok(still.off && still.video === 'hidden', 'still video-off');
    assert.equal(still.badge, '');
    await bob.selectOption(`${tile} .layer-picker`, 'high');
    await waitFor(async () => !(await state()).off, { timeout: TIMEOUT, what: 'video back on' });
    await decodingGrows(bob, aliceStream, "bob decoding alice after 'High'");
  });

  for (const [width, height] of [
    [1280, 720],
    [390, 844],
  ] as const) {
    for (const mode of ['grid', 'speaker'] as const) {
      void it(`${mode} view at ${width}x${height}: three tiles and every control inside the window`, async () => {
        await alice.setViewportSize({ width, height });
        const current = await alice.evaluate<string>(`document.getElementById('grid').dataset.layout`);
        if (current !== mode) {
          await alice.click('#layout');
        }
        await waitFor(
          async () =>
            (await alice.evaluate<string>(`document.getElementById('grid').dataset.layout`)) === mode,
          { timeout: TIMEOUT, what: `${mode} view` },
        );
        assert.equal((await remoteTiles(alice)).length, 2);
        if (mode === 'speaker') {
          assert.equal(await alice.locator('#grid .tile.featured').count(), 1, 'one large tile');
        }
        const problems = await waitFor(
          async () => {
            const p = await alice.evaluate<string[]>(LAYOUT_PROBLEMS);
            return p.length === 0 ? p : undefined;
          },
          { timeout: 5_000, what: `the layout to fit ${width}x${height}` },
        ).catch(async () => alice.evaluate<string[]>(LAYOUT_PROBLEMS));
        const shot = join(OUTPUT, `meeting-${mode}-${width}x${height}.png`);
        await alice.screenshot({ path: shot });
        assert.deepEqual(problems, []);
        if (process.env.SB_DOC_IMAGES === '1') {
          if (mode === 'grid' && width === 1280) {
            await copyFile(shot, join(ROOT, 'docs', 'images', 'meeting-grid.png'));
          }
          if (mode === 'speaker' && width === 390) {
            await copyFile(shot, join(ROOT, 'docs', 'images', 'meeting-phone.png'));
          }
        }
      });
    }
  }

  void it("switching alice's camera mid-call keeps bob and carol decoding her video", async () => {
    await alice.setViewportSize({ width: 1280, height: 720 });
    const aliceStream = await streamOf(bob, 'Alice');
    const before = await alice.evaluate<string>(
      `window.sb.client.localStreams[0].getVideoTracks()[0].getSettings().deviceId`,
    );
    await alice.click('#devices');
    await waitFor(async () => (await alice.locator('#call-camera option').count()) >= 3, {
      timeout: TIMEOUT,
      what: 'the cameras in the device panel',
    });
    // The last camera (fake_device_2, MJPEG): see before().
    const other = await alice.evaluate<string>(
      `Array.from(document.querySelectorAll('#call-camera option')).map((o) => o.value).filter((v) => v !== ${JSON.stringify(before)}).pop()`,
    );
    await alice.selectOption('#call-camera', other);
    await waitFor(
      async () =>
        (await alice.evaluate<string>(
          `(() => { const t = window.sb.client.publisher.getSenders().find((s) => s.track && s.track.kind === 'video'); return t ? t.track.getSettings().deviceId : ''; })()`,
        )) === other,
      { timeout: TIMEOUT, what: "alice's sender to send the other camera" },
    );
    assert.equal(
      await alice.evaluate<string>(
        `window.sb.client.localStreams[0].getVideoTracks()[0].getSettings().deviceId`,
      ),
      other,
    );
    assert.equal(
      await alice.evaluate<number>(
        `window.sb.client.localStreams[0].getTracks().filter((t) => t.readyState === 'live').length`,
      ),
      2,
      'the published stream holds the new camera and the microphone',
    );
    await decodingGrows(bob, aliceStream, 'bob decoding alice after the switch');
    await decodingGrows(carol, await streamOf(carol, 'Alice'), 'carol decoding alice after the switch');
  });

  void it("switching alice's microphone mid-call: the sender sends the new one, bob keeps receiving her audio", async () => {
    const mics = await alice.evaluate<string[]>(
      `Array.from(document.querySelectorAll('#call-mic option')).map((o) => o.value)`,
    );
    const before = await alice.evaluate<string>(
      `window.sb.client.localStreams[0].getAudioTracks()[0].getSettings().deviceId`,
    );
    const other = mics.filter((m) => m !== before).pop();
    assert.ok(other, `a second fake microphone (listed: ${mics.length})`);
    await alice.selectOption('#call-mic', other);
    const sent = `(() => { const s = window.sb.client.publisher.getSenders().find((x) => x.track && x.track.kind === 'audio'); return s ? s.track.getSettings().deviceId : ''; })()`;
    await waitFor(async () => (await alice.evaluate<string>(sent)) === other, {
      timeout: TIMEOUT,
      what: "alice's sender to send the other microphone",
    });
    // Packets of alice's audio track on bob's page (carol's audio does not count).
    const aliceStream = await streamOf(bob, 'Alice');
    const audio = () =>
      bob.evaluate<number>(`(async () => {
        const s = window.sb.client.remoteStreams.get(${JSON.stringify(aliceStream)});
        const t = s && s.getAudioTracks()[0];
        let n = 0;
        (await window.sb.client.subscriber.getStats()).forEach((r) => {
          if (r.type === 'inbound-rtp' && r.kind === 'audio' && t && r.trackIdentifier === t.id) n = r.packetsReceived;
        });
        return n;
      })()`);
    const start = await audio();
    await waitFor(async () => (await audio()) > start + 100, {
      timeout: TIMEOUT,
      what: "bob to receive 100 more packets of alice's audio",
    });
  });

  void it('"join with camera off" and "join muted" join with both muted in the roster', async () => {
    const dave = await browser!.newPage('dave');
    await dave.goto(`${sb!.url}/?room=${ROOM}`);
    await dave.fill('#name', 'dave');
    await waitFor(() => dave.evaluate<number>(PREVIEW_FRAMES), { timeout: TIMEOUT, what: "dave's preview" });
    await dave.check('#join-cam-off');
    await dave.check('#join-muted');
    assert.equal(await dave.locator('#preview').isVisible(), false, 'the preview shows the camera off');
    await dave.click('#join');
    await waitFor(
      () =>
        alice.evaluate<boolean>(`(() => {
          const p = window.sb.client.participants.find((x) => x.name === 'dave');
          const s = p && p.streams[0];
          return !!s && s.audioMuted && s.videoMuted;
        })()`),
      { timeout: TIMEOUT, what: "alice's roster to list dave with microphone and camera muted" },
    );
    assert.equal(await dave.getAttribute('#mic', 'aria-pressed'), 'true');
    assert.equal(await dave.getAttribute('#cam', 'aria-pressed'), 'true');
    await dave.close();
  });

  void it('?codec=av1 is refused in words (the server forwards no AV1), not published as VP8', async () => {
    const page = await browser!.newPage('av1');
    await page.goto(`${sb!.url}/?room=${ROOM}&name=av1&autojoin=1&codec=av1`);
    const error = await waitFor(() => page.evaluate<string | null>('window.sb.error'), {
      timeout: TIMEOUT,
      what: 'the page to show an error',
    });
    assert.match(error, /AV1 is not supported by this server/);
    assert.equal(await page.evaluate('window.sb.client'), null, 'no client was created');
    assert.equal(await page.locator('#error').isVisible(), true);
    assert.match(await page.locator('#error').innerText(), /AV1/);
    await page.close();
  });
});
