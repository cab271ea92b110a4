import type { RTCPeerConnection } from 'werift';

/**
 * Resolves once `pc` is connected (ICE + DTLS); rejects, naming it `what`, when it fails or closes or
 * `ms` pass first.
 */
export function connected(pc: RTCPeerConnection, what: string, ms: number): Promise<void> {
  if (pc.connectionState === 'connected') {
    return Promise.resolve();
  }
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      sub.unSubscribe();
      reject(new Error(`${what} not connected within ${ms / 1000} s (${pc.connectionState})`));
    }, ms);
    const sub = pc.connectionStateChange.subscribe((state) => {
      if (state === 'connected') {
        clearTimeout(timer);
        sub.unSubscribe();
        resolve();
      } else if (state === 'failed' || state === 'closed') {
        clearTimeout(timer);
        sub.unSubscribe();
        reject(new Error(`${what} ${state}`));
      }
    });
  });
}
