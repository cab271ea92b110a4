// Micro-benchmark of the forwarding path inside one process: a Receiver fanning synthetic 1100-byte
// VP8-like packets out to N DownTracks whose transports are real werift SRTP sessions and a real UDP
// socket sending to a sink on 127.0.0.1 (loopback only). Prints CPU µs per forwarded packet.
// Usage: node --import tsx bench/egress.ts [--subs 10] [--packets 20000] [--profile 1|7]   (SB_NATIVE=0: TypeScript SRTP)
import { createSocket } from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { Event, RtpHeader, RtpPacket, RTCRtpCodecParameters, SrtpSession } from 'werift';
import { Receiver } from '../src/media/Receiver.ts';
import { DownTrack } from '../src/media/DownTrack.ts';
import { RtpView } from '../src/media/RtpView.ts';

const arg = (name: string, def: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : def;
};
const SUBS = arg('subs', 10);
const PACKETS = arg('packets', 20000);
const PROFILE = arg('profile', 1);

const sink = createSocket('udp4');
await new Promise<void>((r) => sink.bind(0, '127.0.0.1', r));
const port = sink.address().port;
sink.on('message', () => undefined);
const out = createSocket('udp4');
await new Promise<void>((r) => out.bind(0, '127.0.0.1', r));

function transceiver(i: number) {
  const srtp = new SrtpSession({
    keys: {
      localMasterKey: randomBytes(16),
      localMasterSalt: randomBytes(PROFILE === 7 ? 12 : 14),
      remoteMasterKey: randomBytes(16),
      remoteMasterSalt: randomBytes(PROFILE === 7 ? 12 : 14),
    },
    profile: PROFILE,
  });
  const socket = Object.assign(out, {});
  const dtls = {
    state: 'connected',
    srtpStarted: true,
    bytesSent: 0,
    packetsSent: 0,
    srtp,
    iceTransport: {
      connection: {
        nominated: { protocol: { transport: { socket } }, remoteCandidate: { host: '127.0.0.1', port } },
        // werift's own send path (used by builds that encrypt through werift): one callback send per packet
        send: (d: Buffer) => new Promise<void>((r) => socket.send(d, port, '127.0.0.1', () => r())),
      },
    },
  };
  const sender = {
    dtlsTransport: dtls,
    ssrc: 1000 + i,
    codec: { payloadType: 96 },
    onPictureLossIndication: new Event<[]>(),
    onGenericNack: new Event<[{ lost: number[] }]>(),
    onRtcp: new Event<[unknown]>(),
  };
  return {
    sender,
    mid: String(i),
    headerExtensions: [{ id: 3, uri: 'urn:ietf:params:rtp-hdrext:sdes:mid' }],
  } as never;
}

const receiver = new Receiver({
  peerId: 'pub',
  rids: [''],
  transceiver: {
    kind: 'video',
    receiver: { sendRtcpPLI: () => Promise.resolve(), onRtcp: new Event<[unknown]>() },
  } as never,
  codec: new RTCRtpCodecParameters({ mimeType: 'video/VP8', clockRate: 90000 }),
  streamId: 's',
  trackId: 't',
  cacheSize: 512,
  audioLevelExtId: 0,
});
for (let i = 0; i < SUBS; i++) {
  receiver.addDownTrack(new DownTrack(receiver, transceiver(i)));
}
const key = Buffer.concat([
  Buffer.from([0x90, 0x80, 0x80, 0x01, 0x10, 0x00, 0x9d, 0x01, 0x2a]),
  randomBytes(1091),
]);
const delta = Buffer.concat([Buffer.from([0x90, 0x80, 0x80, 0x01]), randomBytes(1096)]);
let seq = 1;
const view = new RtpView();
const push = (payload: Buffer) => {
  const buf = new RtpPacket(
    new RtpHeader({ sequenceNumber: seq++ & 0xffff, timestamp: seq * 3000, ssrc: 42, payloadType: 96 }),
    payload,
  ).serialize();
  view.parseHeader(buf, buf.length);
  view.setLength(buf.length);
  receiver.receive(receiver.layers[0]!, view, Date.now());
};
push(key);
// Warm up, then measure; yield to the event loop every 100 packets so sends drain.
const run = async (n: number) => {
  for (let i = 0; i < n; i++) {
    push(delta);
    if (i % 100 === 99) {
      await new Promise((r) => setImmediate(r));
    }
  }
};
await run(2000);
const t0 = process.cpuUsage();
const w0 = performance.now();
await run(PACKETS);
const cpu = process.cpuUsage(t0);
const wall = performance.now() - w0;
const fwd = PACKETS * SUBS;
console.log(
  JSON.stringify({
    subs: SUBS,
    packets: PACKETS,
    profile: PROFILE === 7 ? 'AEAD_AES_128_GCM' : 'AES_CM_128_HMAC_SHA1_80',
    native: process.env.SB_NATIVE !== '0',
    usPerForwardedPacket: Number(((cpu.user + cpu.system) / fwd).toFixed(2)),
    wallUsPerForwardedPacket: Number(((wall * 1000) / fwd).toFixed(2)),
  }),
);
receiver.close();
sink.close();
out.close();
