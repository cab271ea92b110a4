/**
 * The few STUN (RFC 5389) operations the socket muxes need before a datagram reaches werift: is it
 * STUN, which class and method, whose ufrag does a Binding request name, and does its
 * MESSAGE-INTEGRITY verify. No werift import: the muxes must judge a packet before they know which
 * ICE agent (if any) it belongs to.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export const STUN_HEADER = 20;
const MAGIC_COOKIE = 0x2112a442;
const ATTR_USERNAME = 0x0006;
const ATTR_MESSAGE_INTEGRITY = 0x0008;
const ATTR_XOR_MAPPED_ADDRESS = 0x0020;
const ATTR_MAPPED_ADDRESS = 0x0001;

export const BINDING_REQUEST = 0x0001;
export const BINDING_INDICATION = 0x0011;
export const BINDING_SUCCESS = 0x0101;

/** A remote transport address: `[ip, port]` (werift's `Address` shape). */
export type Address = readonly [host: string, port: number];

/** True when `data` is a well-formed STUN message (first two bits 0, magic cookie, length). */
export function isStun(data: Buffer): boolean {
  return (
    data.length >= STUN_HEADER &&
    data[0]! < 2 &&
    data.readUInt32BE(4) === MAGIC_COOKIE &&
    data.readUInt16BE(2) + STUN_HEADER === data.length
  );
}

/** The message type (method and class bits), e.g. `BINDING_REQUEST`. Call after `isStun`. */
export function stunType(data: Buffer): number {
  return data.readUInt16BE(0);
}

/** Class bits of a STUN type: 0 request, 1 indication, 2 success response, 3 error response. */
export function stunClass(type: number): number {
  return ((type >> 7) & 2) | ((type >> 4) & 1);
}

/** The 12-byte transaction id as hex. Call after `isStun`. */
export function transactionId(data: Buffer): string {
  return data.toString('hex', 8, STUN_HEADER);
}

/** Offset and length of the first attribute of `type`, or undefined. Call after `isStun`. */
function findAttribute(data: Buffer, type: number): { offset: number; length: number } | undefined {
  let o = STUN_HEADER;
  while (o + 4 <= data.length) {
    const t = data.readUInt16BE(o);
    const len = data.readUInt16BE(o + 2);
    if (o + 4 + len > data.length) {
      return undefined;
    }
    if (t === type) {
      return { offset: o + 4, length: len };
    }
    o += 4 + len + ((4 - (len % 4)) % 4);
  }
  return undefined;
}

/**
 * The USERNAME of an ICE connectivity check, split at the colon: `local` is the receiver's ufrag
 * (ours), `remote` the sender's. Undefined when absent or malformed.
 */
export function iceUsername(data: Buffer): { local: string; remote: string } | undefined {
  const a = findAttribute(data, ATTR_USERNAME);
  if (!a || a.length > 513) {
    return undefined;
  }
  const s = data.toString('utf8', a.offset, a.offset + a.length);
  const colon = s.indexOf(':');
  if (colon <= 0) {
    return undefined;
  }
  return { local: s.slice(0, colon), remote: s.slice(colon + 1) };
}

/**
 * Verifies MESSAGE-INTEGRITY (HMAC-SHA1, RFC 5389 §15.4) with the short-term key `password`: the
 * HMAC covers the message up to the attribute, with the header length counting up to its end.
 */
export function verifyIntegrity(data: Buffer, password: string): boolean {
  const a = findAttribute(data, ATTR_MESSAGE_INTEGRITY);
  if (!a || a.length !== 20) {
    return false;
  }
  const attrStart = a.offset - 4;
  const header = Buffer.from(data.subarray(0, STUN_HEADER));
  header.writeUInt16BE(attrStart + 24 - STUN_HEADER, 2);
  const mac = createHmac('sha1', password)
    .update(header)
    .update(data.subarray(STUN_HEADER, attrStart))
    .digest();
  return timingSafeEqual(mac, data.subarray(a.offset, a.offset + 20));
}

/** A Binding indication (RFC 5389 §10.1.1 / RFC 8445 §11 keepalive): header only, no attributes. */
export function bindingIndication(): Buffer {
  return stunHeader(BINDING_INDICATION, randomBytes(12));
}

/** A bare Binding request (server-reflexive discovery, probes) with transaction id `tid`. */
export function bindingRequest(tid: Buffer = randomBytes(12)): Buffer {
  return stunHeader(BINDING_REQUEST, tid);
}

function stunHeader(type: number, tid: Buffer): Buffer {
  const b = Buffer.alloc(STUN_HEADER);
  b.writeUInt16BE(type, 0);
  b.writeUInt16BE(0, 2);
  b.writeUInt32BE(MAGIC_COOKIE, 4);
  tid.copy(b, 8);
  return b;
}

/** The (XOR-)MAPPED-ADDRESS of a Binding success response (IPv4 only), or undefined. */
export function mappedAddress(data: Buffer): Address | undefined {
  const xor = findAttribute(data, ATTR_XOR_MAPPED_ADDRESS);
  const plain = xor ? undefined : findAttribute(data, ATTR_MAPPED_ADDRESS);
  const a = xor ?? plain;
  if (!a || a.length < 8 || data[a.offset + 1] !== 0x01) {
    return undefined;
  }
  let port = data.readUInt16BE(a.offset + 2);
  let ip = data.readUInt32BE(a.offset + 4);
  if (xor) {
    port ^= MAGIC_COOKIE >>> 16;
    ip = (ip ^ MAGIC_COOKIE) >>> 0;
  }
  return [[ip >>> 24, (ip >>> 16) & 255, (ip >>> 8) & 255, ip & 255].join('.'), port];
}
