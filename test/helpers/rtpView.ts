import type { RtpPacket } from 'werift';
import { RtpView } from '../../src/media/RtpView.ts';

/** A fresh view of a werift packet, as the ingress would hand it to a Receiver (a copy of its bytes). */
export function viewOf(packet: RtpPacket): RtpView {
  const buf = packet.serialize();
  const view = new RtpView();
  if (!view.parseHeader(buf, buf.length) || !view.setLength(buf.length)) {
    throw new Error('not an RTP packet');
  }
  return view;
}
