// A bare TURN Allocate (RFC 5766) over UDP with long-term credentials: the answer class and error
// code, to check what a TURN server accepts without a full ICE agent.
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';

const COOKIE = 0x2112a442;
const ALLOCATE = 0x0003;

function attr(type: number, value: Buffer): Buffer {
  const pad = (4 - (value.length % 4)) % 4;
  const b = Buffer.alloc(4 + value.length + pad);
  b.writeUInt16BE(type, 0);
  b.writeUInt16BE(value.length, 2);
  value.copy(b, 4);
  return b;
}

function message(attrs: Buffer[], key?: Buffer): Buffer {
  const tid = randomBytes(12);
  const body = Buffer.concat(attrs);
  const header = Buffer.alloc(20);
  header.writeUInt16BE(ALLOCATE, 0);
  header.writeUInt32BE(COOKIE, 4);
  tid.copy(header, 8);
  if (!key) {
    header.writeUInt16BE(body.length, 2);
    return Buffer.concat([header, body]);
  }
  header.writeUInt16BE(body.length + 24, 2);
  const mac = createHmac('sha1', key).update(header).update(body).digest();
  return Buffer.concat([header, body, attr(0x0008, mac)]);
}

function attributes(msg: Buffer): Map<number, Buffer> {
  const out = new Map<number, Buffer>();
  for (let o = 20; o + 4 <= msg.length;) {
    const t = msg.readUInt16BE(o);
    const len = msg.readUInt16BE(o + 2);
    out.set(t, msg.subarray(o + 4, o + 4 + len));
    o += 4 + len + ((4 - (len % 4)) % 4);
  }
  return out;
}

/** Allocates with `username`/`password`: `'success'`, or the error code (401 = refused credentials). */
export async function turnAllocate(
  host: string,
  port: number,
  username: string,
  password: string,
): Promise<'success' | number> {
  const socket = createSocket('udp4');
  const ask = (m: Buffer): Promise<Buffer> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no TURN answer')), 3000);
      socket.once('message', (msg) => {
        clearTimeout(timer);
        resolve(msg);
      });
      socket.send(m, port, host);
    });
  try {
    const transport = attr(0x0019, Buffer.from([17, 0, 0, 0])); // REQUESTED-TRANSPORT: UDP
    const first = await ask(message([transport]));
    const a = attributes(first);
    const realm = a.get(0x0014);
    const nonce = a.get(0x0015);
    if (!realm || !nonce) {
      throw new Error('no realm/nonce challenge');
    }
    const key = createHash('md5').update(`${username}:${realm.toString()}:${password}`).digest();
    const answer = await ask(
      message(
        [transport, attr(0x0006, Buffer.from(username)), attr(0x0014, realm), attr(0x0015, nonce)],
        key,
      ),
    );
    if (answer.readUInt16BE(0) === 0x0103) {
      return 'success';
    }
    const err = attributes(answer).get(0x0009);
    return err ? err[2]! * 100 + err[3]! : -1;
  } finally {
    socket.close();
  }
}
