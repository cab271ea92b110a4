// A werift RTCPeerConnection joined to a room as a publisher over a bare JSON-RPC socket (ion-sfu
// `join`, trickle from the server): for tests that must send on the publisher's own socket.
import assert from 'node:assert/strict';
import {
  MediaStreamTrack,
  RTCPeerConnection,
  RTCRtpCodecParameters,
  useFIR,
  useNACK,
  usePLI,
  type RTCIceCandidate,
  type RTCRtpTransceiver,
} from 'werift';
import { RawSocket } from './rawSocket.ts';
import { waitFor } from './waitFor.ts';

interface Rpc {
  id?: number;
  method?: string;
  params?: { candidate?: RTCIceCandidate; target?: number };
  result?: { type: 'answer'; sdp: string };
  error?: { message: string };
}

export interface JoinedPublisher {
  readonly ws: RawSocket;
  /** Stops reading the socket and closes it. */
  close(): Promise<void>;
}

/** Offers `pc`'s transceivers to room `room` at the server's `/ws` URL as `uid`; resolves once connected. */
export async function joinAsPublisher(
  wsUrl: string,
  room: string,
  uid: string,
  pc: RTCPeerConnection,
): Promise<JoinedPublisher> {
  await pc.setLocalDescription(await pc.createOffer());
  await waitFor(() => pc.iceGatheringState === 'complete', { what: 'werift gathering' });
  const ws = await RawSocket.connect(wsUrl);
  ws.send(
    JSON.stringify({
      id: 1,
      method: 'join',
      params: { sid: room, uid, offer: { type: 'offer', sdp: pc.localDescription!.sdp } },
    }),
  );
  let pumping = true;
  let answer: Rpc['result'];
  const trickles: RTCIceCandidate[] = [];
  void (async () => {
    while (pumping) {
      const m = await ws.next<Rpc>(500).catch(() => undefined);
      if (m?.id === 1) {
        assert.ok(m.result, `join failed: ${m.error?.message}`);
        answer = m.result;
        await pc.setRemoteDescription(answer);
        for (const c of trickles.splice(0)) {
          await pc.addIceCandidate(c);
        }
      } else if (m?.method === 'trickle' && m.params?.target === 0 && m.params.candidate) {
        if (answer) {
          await pc.addIceCandidate(m.params.candidate);
        } else {
          trickles.push(m.params.candidate);
        }
      }
    }
  })();
  await waitFor(() => pc.connectionState === 'connected', {
    timeout: 20_000,
    what: 'the publisher to connect',
  });
  return {
    ws,
    close: async () => {
      pumping = false;
      await ws.close();
    },
  };
}

/** A werift PC with one send-only VP8 track (payload type 96, NACK + PLI + FIR feedback), not yet joined. */
export function vp8PublisherPc(): {
  pc: RTCPeerConnection;
  track: MediaStreamTrack;
  transceiver: RTCRtpTransceiver;
} {
  const pc = new RTCPeerConnection({
    codecs: {
      video: [
        new RTCRtpCodecParameters({
          mimeType: 'video/VP8',
          clockRate: 90000,
          payloadType: 96,
          rtcpFeedback: [useNACK(), usePLI(), useFIR()],
        }),
      ],
    },
    iceUseIpv6: false,
  });
  const track = new MediaStreamTrack({ kind: 'video' });
  const transceiver = pc.addTransceiver(track, { direction: 'sendonly' });
  return { pc, track, transceiver };
}
