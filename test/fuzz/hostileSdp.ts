/**
 * SDP offers for the fuzzer: a well-formed one (what a browser joining with a data channel and,
 * optionally, audio and video sends) and hostile variations of it. Each hostile case is a label and
 * an SDP; sizes stay under the 256 KiB the `join`/`offer` schemas allow unless the case is about size.
 */
import type { Random } from './random.ts';

export interface OfferOptions {
  /** Audio+video pairs to publish (each adds two m-sections). Default 0. */
  pairs?: number;
  /** One BUNDLE group (default) or a transport per m-section. */
  bundle?: boolean;
  /** Leave out the data-channel m-section. */
  noData?: boolean;
  ufrag?: string;
  pwd?: string;
  fingerprint?: string;
  /** Extra lines appended to every media section. */
  extra?: string[];
}

const FINGERPRINT =
  'sha-256 ' +
  Array.from({ length: 32 }, (_, i) =>
    ((i * 37 + 11) & 0xff).toString(16).padStart(2, '0').toUpperCase(),
  ).join(':');

/** A well-formed unified-plan offer (CRLF line ends, as browsers send). */
export function validOffer(o: OfferOptions = {}): string {
  const ufrag = o.ufrag ?? 'fzUf';
  const pwd = o.pwd ?? 'fuzzerpassword0123456789';
  const fp = o.fingerprint ?? FINGERPRINT;
  const sections: string[][] = [];
  const mids: string[] = [];
  const transport = (i: number): string[] => [
    'c=IN IP4 0.0.0.0',
    ...(ufrag === '' ? [] : [`a=ice-ufrag:${o.bundle === false ? `${ufrag}${i}` : ufrag}`]),
    ...(pwd === '' ? [] : [`a=ice-pwd:${pwd}`]),
    'a=ice-options:trickle',
    ...(fp === '' ? [] : [`a=fingerprint:${fp}`]),
    'a=setup:actpass',
  ];
  for (let i = 0; i < (o.pairs ?? 0); i++) {
    const a = 2 * i;
    const v = a + 1;
    const ssrc = 100000 + 2 * i;
    mids.push(String(a), String(v));
    sections.push([
      'm=audio 9 UDP/TLS/RTP/SAVPF 111',
      ...transport(a),
      `a=mid:${a}`,
      'a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level',
      'a=sendonly',
      `a=msid:fz${i} a${i}`,
      'a=rtcp-mux',
      'a=rtpmap:111 opus/48000/2',
      'a=fmtp:111 minptime=10;useinbandfec=1',
      `a=ssrc:${ssrc} cname:fz`,
      ...(o.extra ?? []),
    ]);
    sections.push([
      'm=video 9 UDP/TLS/RTP/SAVPF 96 97',
      ...transport(v),
      `a=mid:${v}`,
      'a=sendonly',
      `a=msid:fz${i} v${i}`,
      'a=rtcp-mux',
      'a=rtcp-rsize',
      'a=rtpmap:96 VP8/90000',
      'a=rtcp-fb:96 nack',
      'a=rtcp-fb:96 nack pli',
      'a=rtcp-fb:96 ccm fir',
      'a=rtpmap:97 rtx/90000',
      'a=fmtp:97 apt=96',
      `a=ssrc-group:FID ${ssrc + 1} ${ssrc + 50000}`,
      `a=ssrc:${ssrc + 1} cname:fz`,
      `a=ssrc:${ssrc + 50000} cname:fz`,
      ...(o.extra ?? []),
    ]);
  }
  if (!o.noData) {
    const d = sections.length;
    mids.push(String(d));
    sections.push([
      'm=application 9 UDP/DTLS/SCTP webrtc-datachannel',
      ...transport(d),
      `a=mid:${d}`,
      'a=sctp-port:5000',
      'a=max-message-size:262144',
      ...(o.extra ?? []),
    ]);
  }
  const head = [
    'v=0',
    'o=- 4611731400430051336 2 IN IP4 127.0.0.1',
    's=-',
    't=0 0',
    ...(o.bundle === false || mids.length === 0 ? [] : [`a=group:BUNDLE ${mids.join(' ')}`]),
    'a=msid-semantic: WMS',
  ];
  return [...head, ...sections.flat()].join('\r\n') + '\r\n';
}

/**
 * `n` audio m-sections in few bytes (ICE password and fingerprint at session level, only the ufrag per
 * section), so even 1,500 sections fit the 256 KiB limit: the offer that froze the server for minutes.
 */
export function compactOffer(n: number, bundle: boolean): string {
  const mids = Array.from({ length: n }, (_, i) => String(i));
  return (
    [
      'v=0',
      'o=- 1 2 IN IP4 127.0.0.1',
      's=-',
      't=0 0',
      ...(bundle ? [`a=group:BUNDLE ${mids.join(' ')}`] : []),
      'a=ice-pwd:fuzzerpassword0123456789',
      `a=fingerprint:${FINGERPRINT}`,
      'a=setup:actpass',
      ...mids.flatMap((m) => [
        'm=audio 9 UDP/TLS/RTP/SAVPF 111',
        'c=IN IP4 0.0.0.0',
        `a=ice-ufrag:${bundle ? 'fzUf' : `u${m}`}`,
        `a=mid:${m}`,
        'a=sendonly',
        'a=rtcp-mux',
        'a=rtpmap:111 opus/48000/2',
      ]),
    ].join('\r\n') + '\r\n'
  );
}

export interface HostileSdp {
  label: string;
  sdp: string;
}

/** Sections a CI run may offer; helper A's limit makes larger ones cheap (see hostileInput.test.ts). */
export const CI_MAX_SECTIONS = 200;

const repeatLines = (n: number, f: (i: number) => string): string[] =>
  Array.from({ length: n }, (_, i) => f(i));

/** Replaces the first line matching `re` in a valid offer with `line` (or deletes it for ''). */
function edit(sdp: string, re: RegExp, line: string, all = false): string {
  const lines = sdp.split('\r\n');
  let done = false;
  const out = lines.flatMap((l) => {
    if ((!done || all) && re.test(l)) {
      done = true;
      return line === '' ? [] : [line];
    }
    return [l];
  });
  return out.join('\r\n');
}

/**
 * The systematic hostile cases: many m-sections, huge attribute counts, broken fingerprints and ICE
 * credentials, absurd payload types and other malformed lines. `maxSections` caps the section count.
 */
export function hostileSdps(maxSections = CI_MAX_SECTIONS): HostileSdp[] {
  const base = validOffer({ pairs: 1 });
  const out: HostileSdp[] = [];
  const add = (label: string, sdp: string): void => {
    out.push({ label, sdp });
  };
  // many m-sections
  for (const n of [10, 50, 100, maxSections].filter((n, i, a) => n <= maxSections && a.indexOf(n) === i)) {
    add(`${n} m-sections bundled`, validOffer({ pairs: Math.floor(n / 2), noData: n % 2 === 0 }));
    add(
      `${n} m-sections unbundled`,
      validOffer({ pairs: Math.floor(n / 2), bundle: false, noData: n % 2 === 0 }),
    );
    add(`${n} compact audio sections unbundled`, compactOffer(n, false));
  }
  // huge attribute counts (each stays under the 256 KiB SDP limit)
  add('7500 rtcp-fb lines', validOffer({ pairs: 1, extra: repeatLines(2500, () => 'a=rtcp-fb:96 nack') }));
  add(
    '3000 candidates',
    validOffer({
      pairs: 1,
      extra: repeatLines(
        1000,
        (i) => `a=candidate:${i} 1 udp 2122260223 127.0.${i >> 8}.${(i & 255) + 1} ${1024 + i} typ host`,
      ),
    }),
  );
  add(
    '7500 ssrc lines',
    validOffer({ pairs: 1, extra: repeatLines(2500, (i) => `a=ssrc:${i + 1} cname:x`) }),
  );
  add('4500 extmaps', validOffer({ pairs: 1, extra: repeatLines(1500, (i) => `a=extmap:${i} urn:x:${i}`) }));
  add(
    '2000 payload types',
    edit(
      base,
      /^m=video/,
      `m=video 9 UDP/TLS/RTP/SAVPF ${repeatLines(2000, (i) => String(i % 128)).join(' ')}`,
    ),
  );
  add('4500 rtpmaps', validOffer({ pairs: 1, extra: repeatLines(1500, (i) => `a=rtpmap:${i} VP8/90000`) }));
  add(
    '3000 ssrc-groups',
    validOffer({ pairs: 1, extra: repeatLines(1000, (i) => `a=ssrc-group:FID ${i} ${i + 1}`) }),
  );
  add(
    '3 x 1000 rids + simulcast',
    validOffer({
      pairs: 1,
      extra: [
        ...repeatLines(1000, (i) => `a=rid:r${i} send`),
        `a=simulcast:send ${repeatLines(1000, (i) => `r${i}`).join(';')}`,
      ],
    }),
  );
  add('60 KB attributes', validOffer({ pairs: 1, extra: [`a=x-long:${'z'.repeat(60_000)}`] }));
  // broken fingerprints
  for (const [label, fp] of [
    ['non-hex fingerprint', `sha-256 ${'ZZ:'.repeat(31)}ZZ`],
    ['short fingerprint', 'sha-256 AB:CD'],
    ['unknown hash', `sha-999 ${'AB:'.repeat(31)}AB`],
    ['md5 fingerprint', `md5 ${'AB:'.repeat(15)}AB`],
    ['fingerprint without value', 'sha-256'],
    ['fingerprint of colons', `sha-256 ${':'.repeat(95)}`],
    ['10 KB fingerprint', `sha-256 ${'AB:'.repeat(3400)}AB`],
    ['fingerprint with NUL', 'sha-256 AB\u0000CD'],
  ] as const) {
    add(label, validOffer({ pairs: 1, fingerprint: fp }));
  }
  add('empty fingerprint line', edit(base, /^a=fingerprint:/, 'a=fingerprint:', true));
  add('no fingerprint', validOffer({ pairs: 1, fingerprint: '' }));
  // ICE credentials
  add('missing ufrag', validOffer({ pairs: 1, ufrag: '' }));
  add('missing pwd', validOffer({ pairs: 1, pwd: '' }));
  add('missing ufrag and pwd', validOffer({ pairs: 1, ufrag: '', pwd: '' }));
  add('empty ufrag line', edit(base, /^a=ice-ufrag:/, 'a=ice-ufrag:', true));
  add('10 KB ufrag', validOffer({ pairs: 1, ufrag: 'u'.repeat(10_000) }));
  add('ufrag differs per bundled section', edit(base, /^a=ice-ufrag:/, 'a=ice-ufrag:other'));
  add('ufrag with spaces and colons', validOffer({ pairs: 1, ufrag: 'a b:c' }));
  // absurd payload types
  for (const pts of ['-1', '128', '999999', '1e20', 'abc', '96 96 96', '4294967296', '']) {
    add(`payload types "${pts}"`, edit(base, /^m=video/, `m=video 9 UDP/TLS/RTP/SAVPF ${pts}`));
  }
  for (const line of [
    'a=rtpmap:96 VP8',
    'a=rtpmap:96 VP8/0',
    'a=rtpmap:96 VP8/-90000',
    'a=rtpmap:96 /90000',
    'a=rtpmap:999999 VP8/90000',
    'a=rtpmap:-5 VP8/90000',
    'a=rtpmap:96 VP8/90000/999999999',
    'a=rtpmap:96',
  ]) {
    add(line, edit(base, /^a=rtpmap:96 /, line));
  }
  add('rtx apt to nothing', edit(base, /^a=fmtp:97 /, 'a=fmtp:97 apt=55'));
  add('rtx apt to itself', edit(base, /^a=fmtp:97 /, 'a=fmtp:97 apt=97'));
  add('rtx apt garbage', edit(base, /^a=fmtp:97 /, 'a=fmtp:97 apt=abc;apt=;=;;'));
  // other malformed lines
  for (const [label, re, line] of [
    ['no m-line port', /^m=audio/, 'm=audio'],
    ['absurd port', /^m=audio/, 'm=audio 99999999999 UDP/TLS/RTP/SAVPF 111'],
    ['unknown media', /^m=audio/, 'm=text 9 UDP/TLS/RTP/SAVPF 111'],
    ['plain RTP profile', /^m=audio/, 'm=audio 9 RTP/AVP 0'],
    ['empty mid', /^a=mid:0/, 'a=mid:'],
    ['duplicate mid', /^a=mid:1/, 'a=mid:0'],
    ['10 KB mid', /^a=mid:0/, `a=mid:${'m'.repeat(10_000)}`],
    ['ssrc 0', /^a=ssrc:100000 /, 'a=ssrc:0 cname:fz'],
    ['ssrc 2^32', /^a=ssrc:100000 /, 'a=ssrc:4294967296 cname:fz'],
    ['ssrc negative', /^a=ssrc:100000 /, 'a=ssrc:-1 cname:fz'],
    ['extmap id 0', /^a=extmap:1 /, 'a=extmap:0 urn:ietf:params:rtp-hdrext:ssrc-audio-level'],
    ['extmap id 99999', /^a=extmap:1 /, 'a=extmap:99999 urn:ietf:params:rtp-hdrext:ssrc-audio-level'],
    ['sctp-port 70000', /^a=sctp-port:/, 'a=sctp-port:70000'],
    ['max-message-size -1', /^a=max-message-size:/, 'a=max-message-size:-1'],
    ['setup garbage', /^a=setup:/, 'a=setup:sideways'],
    ['BUNDLE of unknown mids', /^a=group:BUNDLE/, 'a=group:BUNDLE x y z'],
    ['BUNDLE empty', /^a=group:BUNDLE/, 'a=group:BUNDLE'],
    ['msid garbage', /^a=msid:/, 'a=msid:'],
    ['ssrc-group FID without ssrcs', /^a=ssrc-group:/, 'a=ssrc-group:FID'],
    ['no c= line', /^c=IN IP4/, ''],
    ['c= garbage', /^c=IN IP4/, 'c=IN IP9 ::::'],
  ] as const) {
    add(label, edit(base, re, line));
  }
  add('LF line ends', base.replace(/\r\n/g, '\n'));
  add('bare CR line ends', base.replace(/\r\n/g, '\r'));
  add('NUL bytes', base.replace('s=-', 's=\u0000\u0000'));
  add('non-ASCII', base.replace('s=-', 's=\u{1F600}\ud800'));
  add('only v=0', 'v=0');
  add('v=0 and an m-line', 'v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n');
  add('session lines twice', base + base);
  add('truncated in half', base.slice(0, Math.floor(base.length / 2)));
  return out;
}

/** A random hostile SDP: a systematic case, or a valid offer with random lines cut, doubled or garbled. */
export function randomHostileSdp(rng: Random, maxSections = CI_MAX_SECTIONS): HostileSdp {
  if (rng.chance(0.5)) {
    return rng.pick(hostileSdps(maxSections));
  }
  const lines = validOffer({ pairs: rng.int(0, 3), bundle: rng.chance(0.8) }).split('\r\n');
  const ops: string[] = [];
  for (let k = rng.int(1, 6); k > 0; k--) {
    const i = rng.int(0, lines.length - 1);
    const op = rng.int(0, 3);
    if (op === 0) {
      lines.splice(i, 1);
      ops.push(`cut ${i}`);
    } else if (op === 1) {
      lines.splice(i, 0, ...Array<string>(rng.int(2, 500)).fill(lines[i] ?? ''));
      ops.push(`repeat ${i}`);
    } else if (op === 2) {
      const l = lines[i] ?? '';
      const at = rng.int(0, l.length);
      lines[i] =
        l.slice(0, at) + rng.pick(['', ':', ' ', '-1', '\u0000', '999999999999', '/']) + l.slice(at + 1);
      ops.push(`garble ${i}`);
    } else {
      lines[i] =
        `a=${rng.pick(['rtpmap', 'fmtp', 'ssrc', 'extmap', 'rid', 'simulcast', 'candidate', 'fingerprint'])}:${rng.pick(['', '-1', '99999999999 x', 'a b c', ':::'])}`;
      ops.push(`replace ${i}`);
    }
  }
  return { label: `random edits (${ops.join(', ')})`, sdp: lines.join('\r\n') };
}
