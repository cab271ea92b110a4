import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CaptureClock, RtpClock } from '../../../src/recording/RtpClock.ts';

await test('RtpClock extends 32-bit timestamps across the wrap, older packets staying older', () => {
  const c = new RtpClock(90000);
  const start = 0xffff_ff00;
  assert.equal(c.extend(start), start);
  assert.equal(c.extend(0x100), 0x1_0000_0100); // wrapped forward
  assert.equal(c.extend(0xffff_fff0), 0xffff_fff0); // a late packet from before the wrap
  assert.equal(c.extend(0x200), 0x1_0000_0200);
});

await test('RtpClock maps media time with the smallest arrival offset seen (the least delayed packet)', () => {
  const c = new RtpClock(48000);
  assert.equal(c.synced, false);
  c.observe(48000, 10_050); // 1.000 s of media arrives at 10.050 s: 50 ms late
  c.observe(96000, 11_020); // 2.000 s arrives at 11.020 s: 20 ms late, the best so far
  c.observe(144000, 12_090);
  assert.equal(c.synced, true);
  assert.equal(c.wallMs(c.extend(144000)), 12_020);
  assert.equal(c.wallMs(c.extend(48000)), 10_020);
});

await test('two RtpClocks of one capture clock agree whatever their timestamp bases (simulcast layers)', () => {
  const a = new RtpClock(90000);
  const b = new RtpClock(90000);
  const baseA = 1_000_000;
  const baseB = 4_000_000_000;
  for (let i = 0; i < 30; i++) {
    const captureMs = 1000 + i * 33;
    a.observe(baseA + captureMs * 90, 5000 + captureMs + (i % 3) * 4);
    b.observe((baseB + captureMs * 90) >>> 0, 5000 + captureMs + ((i + 1) % 3) * 4);
  }
  const t = 1000 + 29 * 33;
  assert.equal(a.wallMs(a.extend(baseA + t * 90)), b.wallMs(b.extend((baseB + t * 90) >>> 0)));
});

await test("with sender reports, a publisher's audio and video keep the sender's sync whatever their delays", () => {
  // One capture instant every 20 ms; audio arrives 10 ms after capture, video 160 ms (encoder, pacer).
  const senderNtpMs = (captureMs: number) => 3_900_000_000_000 + captureMs; // the sender's own clock
  const capture = new CaptureClock();
  const audio = new RtpClock(48000, capture);
  const video = new RtpClock(90000, capture);
  const arrivalOnly = { audio: new RtpClock(48000), video: new RtpClock(90000) };
  const audioTs = (ms: number) => (123_456 + ms * 48) >>> 0;
  const videoTs = (ms: number) => (4_294_000_000 + ms * 90) >>> 0; // wraps on the way
  const audioSr = { ssrc: 1, ntpMs: senderNtpMs(0), rtpTimestamp: audioTs(0) };
  const videoSr = { ssrc: 2, ntpMs: senderNtpMs(500), rtpTimestamp: videoTs(500) }; // ahead of the packets
  for (let ms = 100; ms <= 400; ms += 20) {
    audio.observe(audioTs(ms), 50_000 + ms + 10, audioSr);
    video.observe(videoTs(ms), 50_000 + ms + 160, videoSr);
    arrivalOnly.audio.observe(audioTs(ms), 50_000 + ms + 10);
    arrivalOnly.video.observe(videoTs(ms), 50_000 + ms + 160);
  }
  assert.ok(audio.reportOffsetMs !== undefined && video.reportOffsetMs !== undefined);
  for (const ms of [100, 250, 400]) {
    assert.ok(Math.abs(video.wallMsOf(videoTs(ms)) - audio.wallMsOf(audioTs(ms))) < 0.5);
    assert.ok(Math.abs(audio.wallMsOf(audioTs(ms)) - (50_000 + ms + 10)) < 0.5); // the least delayed track
  }
  // Arrival alone puts video 150 ms late; the report ahead of the packets did not move the newest one.
  const skew = arrivalOnly.video.wallMsOf(videoTs(400)) - arrivalOnly.audio.wallMsOf(audioTs(400));
  assert.ok(Math.abs(skew - 150) < 0.5, `skew ${skew}`);
  assert.equal(video.extend(videoTs(420)) - video.extend(videoTs(400)), 20 * 90);
});

await test('a track without a report yet falls back to its own arrival offset', () => {
  const capture = new CaptureClock();
  const audio = new RtpClock(48000, capture);
  audio.observe(48_000, 10_030);
  assert.equal(audio.reportOffsetMs, undefined);
  assert.equal(audio.wallMsOf(96_000), 11_030);
});

await test("reports that disagree with their packets' arrival by seconds are not used", () => {
  // Audio's reports come from another clock, 5 s behind video's: trusting them would put audio 5 s early.
  const capture = new CaptureClock();
  const audio = new RtpClock(48000, capture);
  const video = new RtpClock(90000, capture);
  const audioSr = { ssrc: 1, ntpMs: 1_000_000 - 5000, rtpTimestamp: 0 };
  const videoSr = { ssrc: 2, ntpMs: 1_000_000, rtpTimestamp: 0 };
  for (let ms = 0; ms <= 200; ms += 20) {
    audio.observe(ms * 48, 70_000 + ms + 10, audioSr);
    video.observe(ms * 90, 70_000 + ms + 60, videoSr);
  }
  assert.equal(capture.offsetMs(), undefined);
  assert.equal(audio.wallMsOf(200 * 48), 70_210); // each on its own arrival
  assert.equal(video.wallMsOf(200 * 90), 70_260);
});
