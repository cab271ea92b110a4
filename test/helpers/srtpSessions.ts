import { randomBytes } from 'node:crypto';
import { SrtpSession } from 'werift';
import { SRTP_AEAD_AES_128_GCM, type SrtpSessionKeys } from '../../src/media/srtp/index.ts';

/**
 * A pair of werift SRTP sessions with fresh random master keys, `sender` protecting what `receiver`
 * unprotects, and the session keys werift derived for that direction (what our Protector and
 * Unprotector are keyed with).
 */
export function srtpSessions(profile: number): {
  sender: SrtpSession;
  receiver: SrtpSession;
  keys: SrtpSessionKeys;
} {
  const a = { key: randomBytes(16), salt: randomBytes(profile === SRTP_AEAD_AES_128_GCM ? 12 : 14) };
  const b = { key: randomBytes(16), salt: randomBytes(a.salt.length) };
  const config = (local: typeof a, remote: typeof a) => ({
    keys: {
      localMasterKey: local.key,
      localMasterSalt: local.salt,
      remoteMasterKey: remote.key,
      remoteMasterSalt: remote.salt,
    },
    profile,
  });
  const sender = new SrtpSession(config(a, b));
  const receiver = new SrtpSession(config(b, a));
  const ctx = sender.localContext as unknown as {
    srtpSessionKey: Buffer;
    srtpSessionSalt: Buffer;
    srtpSessionAuthTag: Buffer;
  };
  return {
    sender,
    receiver,
    keys: { profile, key: ctx.srtpSessionKey, salt: ctx.srtpSessionSalt, authKey: ctx.srtpSessionAuthTag },
  };
}
