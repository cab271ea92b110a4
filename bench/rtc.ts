// The load client's WebRTC side (werift): the synthetic load clients of src/loadtest/ (shared with
// `switchboard loadtest`), with peer connections bound to the bench's client address.
import type { RTCPeerConnection } from 'werift';
import { clientPc as loadClientPc } from '../src/loadtest/clientPc.ts';
import { CLIENT_IP } from './system.ts';

export { monoUs } from '../src/loadtest/monoUs.ts';
export { RxCounter, markRaw } from '../src/loadtest/RxCounter.ts';
export {
  AUDIO_OPUS,
  SyntheticSource,
  VIDEO_1M,
  VIDEO_500K,
  type AudioProfile,
  type VideoProfile,
} from '../src/loadtest/SyntheticSource.ts';

/** A load client's PC, gathering on the bench's client address only. */
export function clientPc(publisher: boolean): RTCPeerConnection {
  return loadClientPc({ publisher, address: CLIENT_IP });
}
