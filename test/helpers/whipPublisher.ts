// A WHIP publisher (RFC 9725) with libwebrtc (@roamhq/wrtc) and fetch: the synthetic camera and
// microphone sent on one sendonly PeerConnection; the offer is POSTed, its answer applied, and the
// candidates gathered afterwards are trickled with PATCH. For protocol-level tests; the independent
// client of the e2e test is @eyevinn/whip-web-client in Chromium.
import { newPeerConnection, syntheticMedia } from './wrtcPeer.ts';

export interface WhipAnswer {
  status: number;
  headers: Headers;
  body: string;
}

export class WhipPublisher {
  readonly pc: RTCPeerConnection;
  readonly streamId: string;
  /** The session URL (absolute) and its entity-tag, once created. */
  location: string | undefined;
  etag: string | undefined;
  readonly #timers: NodeJS.Timeout[];
  readonly #tracks: MediaStreamTrack[];
  readonly #token: string | undefined;
  /** Candidates gathered before the 201 (RFC 9725 §4.3.1: buffered until the session URL is known). */
  readonly #early: RTCIceCandidate[] = [];
  readonly patches: Promise<Response>[] = [];

  constructor(token?: string) {
    this.#token = token;
    this.pc = newPeerConnection();
    const media = syntheticMedia();
    this.#timers = media.timers;
    this.#tracks = media.stream.getTracks();
    this.streamId = media.stream.id;
    for (const track of this.#tracks) {
      this.pc.addTransceiver(track, { direction: 'sendonly', streams: [media.stream] });
    }
    this.pc.onicecandidate = (e) => {
      if (!e.candidate) {
        return;
      }
      if (this.location) {
        this.patches.push(this.trickle([e.candidate]));
      } else {
        this.#early.push(e.candidate);
      }
    };
  }

  /** POSTs the offer to `endpoint`; on 201 applies the answer and trickles what was gathered. */
  async publish(endpoint: string): Promise<WhipAnswer> {
    const offer = await this.pc.createOffer();
    await this.pc.setLocalDescription(offer);
    const res = await fetch(endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/sdp', ...this.#auth() },
      body: offer.sdp,
    });
    const body = await res.text();
    if (res.status === 201) {
      this.location = new URL(res.headers.get('location')!, endpoint).toString();
      this.etag = res.headers.get('etag') ?? undefined;
      await this.pc.setRemoteDescription({ type: 'answer', sdp: body });
      if (this.#early.length > 0) {
        this.patches.push(this.trickle(this.#early.splice(0)));
      }
    }
    return { status: res.status, headers: res.headers, body };
  }

  /** PATCHes `candidates` as a trickle-ice-sdpfrag. */
  trickle(candidates: readonly RTCIceCandidate[]): Promise<Response> {
    const ufrag = /^a=ice-ufrag:(.+)$/m.exec(this.pc.localDescription!.sdp)![1]!.trim();
    const pwd = /^a=ice-pwd:(.+)$/m.exec(this.pc.localDescription!.sdp)![1]!.trim();
    const lines = [`a=ice-ufrag:${ufrag}`, `a=ice-pwd:${pwd}`, 'm=audio 9 UDP/TLS/RTP/SAVPF 0', 'a=mid:0'];
    for (const c of candidates) {
      lines.push(`a=${c.candidate}`);
    }
    return fetch(this.location!, {
      method: 'PATCH',
      headers: {
        'content-type': 'application/trickle-ice-sdpfrag',
        'if-match': this.etag ?? '*',
        ...this.#auth(),
      },
      body: `${lines.join('\r\n')}\r\n`,
    });
  }

  /**
   * An ICE restart as RFC 9725 §4.3.2 has it: new credentials and all gathered candidates in one
   * PATCH with `If-Match: *`; on 200 the answer is rebuilt with the server's new credentials and
   * candidates and applied, and the new ETag kept.
   */
  async restartIce(): Promise<{ status: number; headers: Headers; body: string }> {
    const offer = await this.pc.createOffer({ iceRestart: true });
    await this.pc.setLocalDescription(offer);
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, 2000);
      const check = () => {
        if (this.pc.iceGatheringState === 'complete') {
          clearTimeout(t);
          resolve();
        }
      };
      this.pc.onicegatheringstatechange = check;
      check();
    });
    const sdp = this.pc.localDescription!.sdp;
    const ufrag = /^a=ice-ufrag:(\S+)/m.exec(sdp)![1]!;
    const pwd = /^a=ice-pwd:(\S+)/m.exec(sdp)![1]!;
    const cands = [...new Set([...sdp.matchAll(/^a=(candidate:[^\r\n]+)/gm)].map((m) => m[1]!))];
    const frag = [`a=ice-ufrag:${ufrag}`, `a=ice-pwd:${pwd}`, 'm=audio 9 UDP/TLS/RTP/SAVPF 0', 'a=mid:0']
      .concat(
        cands.map((c) => `a=${c}`),
        ['a=end-of-candidates'],
      )
      .join('\r\n');
    const res = await fetch(this.location!, {
      method: 'PATCH',
      headers: { 'content-type': 'application/trickle-ice-sdpfrag', 'if-match': '*', ...this.#auth() },
      body: `${frag}\r\n`,
    });
    const body = await res.text();
    if (res.status === 200) {
      this.etag = res.headers.get('etag') ?? undefined;
      const newUfrag = /^a=ice-ufrag:(\S+)/m.exec(body)![1]!;
      const newPwd = /^a=ice-pwd:(\S+)/m.exec(body)![1]!;
      const remote = [...body.matchAll(/^a=(candidate:[^\r\n]+)/gm)].map((m) => m[1]!);
      const answer = this.pc
        .remoteDescription!.sdp.split('\r\n')
        .filter((l) => !l.startsWith('a=candidate:') && l !== 'a=end-of-candidates')
        .map((l) =>
          l.startsWith('a=ice-ufrag:')
            ? `a=ice-ufrag:${newUfrag}`
            : l.startsWith('a=ice-pwd:')
              ? `a=ice-pwd:${newPwd}`
              : l,
        )
        .join('\r\n');
      await this.pc.setRemoteDescription({ type: 'answer', sdp: answer });
      for (const c of remote) {
        await this.pc.addIceCandidate({ candidate: c, sdpMLineIndex: 0 });
      }
    }
    return { status: res.status, headers: res.headers, body };
  }

  /** DELETEs the session (status of the answer). */
  async stop(): Promise<number> {
    const res = await fetch(this.location!, { method: 'DELETE', headers: this.#auth() });
    await res.text();
    return res.status;
  }

  close(): void {
    for (const t of this.#timers) {
      clearInterval(t);
    }
    for (const t of this.#tracks) {
      t.stop();
    }
    this.pc.close();
  }

  #auth(): Record<string, string> {
    return this.#token ? { authorization: `Bearer ${this.#token}` } : {};
  }
}
