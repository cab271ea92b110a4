// A WHEP viewer with libwebrtc (@roamhq/wrtc) and fetch, the way players do it (Eyevinn's
// webrtc-player): one recvonly video and one recvonly audio transceiver, the offer POSTed once ICE
// gathering is complete (no trickle), the answer applied; decoded video frames counted.
import { countFrames, newPeerConnection } from './wrtcPeer.ts';

export class WhepViewer {
  readonly pc: RTCPeerConnection;
  location: string | undefined;
  /** Video frames decoded, and the stream ids the tracks arrived in. */
  frames = 0;
  readonly streamIds = new Set<string>();
  readonly #token: string | undefined;
  readonly #sinks: { stop(): void }[] = [];

  constructor(token?: string, o: { video?: number; audio?: number } = {}) {
    this.#token = token;
    this.pc = newPeerConnection();
    for (let i = 0; i < (o.video ?? 1); i++) {
      this.pc.addTransceiver('video', { direction: 'recvonly' });
    }
    for (let i = 0; i < (o.audio ?? 1); i++) {
      this.pc.addTransceiver('audio', { direction: 'recvonly' });
    }
    this.pc.ontrack = (e) => {
      for (const s of e.streams) {
        this.streamIds.add(s.id);
      }
      if (e.track.kind === 'video') {
        this.#sinks.push(countFrames(e.track, () => this.frames++));
      }
    };
  }

  /** The offer with its candidates (gathering complete), as a non-trickle player sends it. */
  async offer(): Promise<string> {
    await this.pc.setLocalDescription(await this.pc.createOffer());
    await new Promise<void>((resolve) => {
      if (this.pc.iceGatheringState === 'complete') {
        resolve();
        return;
      }
      const t = setTimeout(resolve, 2000);
      this.pc.onicegatheringstatechange = () => {
        if (this.pc.iceGatheringState === 'complete') {
          clearTimeout(t);
          resolve();
        }
      };
    });
    return this.pc.localDescription!.sdp;
  }

  /** POSTs the offer to `endpoint`; on 201 applies the answer. */
  async play(endpoint: string): Promise<{ status: number; headers: Headers; body: string }> {
    const res = await fetch(endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/sdp', ...this.#auth() },
      body: await this.offer(),
    });
    const body = await res.text();
    if (res.status === 201) {
      this.location = new URL(res.headers.get('location')!, endpoint).toString();
      await this.pc.setRemoteDescription({ type: 'answer', sdp: body });
    }
    return { status: res.status, headers: res.headers, body };
  }

  async stop(): Promise<number> {
    const res = await fetch(this.location!, { method: 'DELETE', headers: this.#auth() });
    await res.text();
    return res.status;
  }

  close(): void {
    for (const s of this.#sinks) {
      s.stop();
    }
    this.pc.close();
  }

  #auth(): Record<string, string> {
    return this.#token ? { authorization: `Bearer ${this.#token}` } : {};
  }
}
