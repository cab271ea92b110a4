// RFC 8840 fragments as WHIP's PATCH carries them, and ICE servers as RFC 9725 Link headers.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { iceServerLinks } from '../../../src/signal/whip/iceLinks.ts';
import {
  buildSdpFrag,
  MAX_FRAG_CANDIDATES,
  parseSdpFrag,
  SdpFragError,
} from '../../../src/signal/whip/sdpFrag.ts';

const CAND = 'candidate:1387637174 1 udp 2122260223 192.0.2.1 61764 typ host generation 0';

await test("RFC 9725's trickle example: credentials, the mid, the candidates, end-of-candidates", () => {
  const f = parseSdpFrag(
    [
      'a=ice-ufrag:EsAw',
      'a=ice-pwd:P2uYro0UCOQ4zxjKXaWCBui1',
      'm=audio 9 RTP/AVP 0',
      'a=mid:0',
      `a=${CAND}`,
      'a=candidate:3471623853 1 udp 2122194687 198.51.100.2 61765 typ host generation 0',
      'a=end-of-candidates',
      '',
    ].join('\r\n'),
  );
  assert.equal(f.ufrag, 'EsAw');
  assert.equal(f.pwd, 'P2uYro0UCOQ4zxjKXaWCBui1');
  assert.equal(f.end, true);
  assert.deepEqual(f.candidates[0], { candidate: CAND, sdpMid: '0', sdpMLineIndex: 0 });
  assert.equal(f.candidates.length, 2);
});

await test('LF line ends and an empty fragment are fine', () => {
  assert.deepEqual(parseSdpFrag(`a=mid:1\na=${CAND}\n`).candidates, [
    { candidate: CAND, sdpMid: '1', sdpMLineIndex: 0 },
  ]);
  assert.deepEqual(parseSdpFrag(''), { candidates: [], end: false });
});

await test('malformed fragments are refused with a reason', () => {
  const bad = (text: string, reason: RegExp) =>
    assert.throws(
      () => parseSdpFrag(text),
      (e: unknown) => e instanceof SdpFragError && reason.test(e.message),
    );
  bad('hello', /unexpected line/);
  bad('a=candidate:garbage', /malformed candidate/);
  bad('a=candidate:1 1 udp 1 10.0.0.1 99999999 typ host', /malformed candidate/);
  bad('a=ice-ufrag:EsAw', /go together/);
  bad('a=ice-ufrag:E\u00e9\r\na=ice-pwd:P2uYro0UCOQ4zxjKXaWCBui1', /malformed a=ice-ufrag/);
  bad('a=ice-ufrag:EsAw\r\na=ice-pwd:short', /malformed a=ice-pwd/);
  bad(`a=mid:${'x'.repeat(40)}`, /malformed a=mid/);
  bad(Array.from({ length: MAX_FRAG_CANDIDATES + 1 }, () => `a=${CAND}`).join('\r\n'), /more than/);
});

await test('the restart answer fragment parses back to what went in', () => {
  const text = buildSdpFrag('abcd', 'abcdefghijklmnopqrstuv', '0', [CAND]);
  const f = parseSdpFrag(text);
  assert.deepEqual(
    [f.ufrag, f.pwd, f.end, f.candidates[0]?.candidate],
    ['abcd', 'abcdefghijklmnopqrstuv', true, CAND],
  );
});

await test('Link headers: one per URL, TURN credentials quoted', () => {
  assert.deepEqual(
    iceServerLinks([
      { urls: ['stun:stun.example.net'] },
      {
        urls: ['turn:t.example.net?transport=udp', 'turns:t.example.net?transport=tcp'],
        username: 'u"1',
        credential: 'p\\w',
      },
    ]),
    [
      '<stun:stun.example.net>; rel="ice-server"',
      '<turn:t.example.net?transport=udp>; rel="ice-server"; username="u\\"1"; credential="p\\\\w"; credential-type="password"',
      '<turns:t.example.net?transport=tcp>; rel="ice-server"; username="u\\"1"; credential="p\\\\w"; credential-type="password"',
    ],
  );
});
