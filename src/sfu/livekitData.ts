/**
 * LiveKit's data on the media node (shared/reference/livekit-protocol.md §1 "Data"): a LiveKit client
 * sends protobuf `DataPacket`s on its `_reliable` / `_lossy` channels and receives them on the
 * same-label channels of its subscriber PC. The server decodes each packet, vouches for its sender
 * (identity and sid stamped over whatever the client wrote, as LiveKit's server does), and delivers
 * it to the identities it names (everyone when none). These are the media core's DataPolicies for
 * it: LiveKit peers', other clients' (no LiveKit labels either way), and relay peers' (a packet from
 * another node was vouched for there; here it only goes to the identities it names).
 */
import type { DataPacket } from '@livekit/protocol';
import type { ChannelSpec, DataForward, DataPolicy } from '../media/index.ts';
import { LIVEKIT_CHANNELS, LIVEKIT_LOSSY, LIVEKIT_RELIABLE, livekitSid } from '../protocol/livekit.ts';
import { MAX_DATA_BYTES } from '../protocol/room.ts';
import { logger } from '../util/logger.ts';

/**
 * `@livekit/protocol` (≈ 0.3 s to import) is loaded by the media node's first join, not by every
 * process that imports the sfu role (the CLI imports the server). Peers exist only after a join, so
 * their packets always find it loaded.
 */
let proto: typeof import('@livekit/protocol') | undefined;
let loading: Promise<void> | undefined;
export function livekitProtocolReady(): Promise<void> {
  return (loading ??= import('@livekit/protocol').then((m) => void (proto = m)));
}

export function isLiveKitLabel(label: string): boolean {
  return (LIVEKIT_CHANNELS as readonly string[]).includes(label);
}

/** `_reliable`: ordered, reliable; `_lossy`: unordered, no retransmits (as LiveKit's server opens them). */
const LIVEKIT_CHANNEL_SPECS: readonly ChannelSpec[] = [
  { label: LIVEKIT_RELIABLE, ordered: true },
  { label: LIVEKIT_LOSSY, ordered: false, maxRetransmits: 0 },
];

export interface LiveKitSender {
  room: string;
  uid: string;
  /** The token's canPublishData: without it nothing it sends is forwarded (LiveKit drops it too). */
  canPublishData: boolean;
  /** A hidden participant's packets go out without its identity (LiveKit blanks it). */
  hidden: boolean;
}

/**
 * A LiveKit participant's peer: `_reliable` (ordered, reliable) and `_lossy` (unordered, no
 * retransmits) on its subscriber PC from the start, as LiveKit's server opens them; only LiveKit labels
 * reach it; what it sends is vouched for and addressed (livekitForward); its audio levels go to
 * `levels` (a signal notification: LiveKit clients get speakers by signalling).
 */
export function livekitDataPolicy(sender: LiveKitSender, levels: (streamIds: string[]) => void): DataPolicy {
  return {
    channels: LIVEKIT_CHANNEL_SPECS,
    accepts: isLiveKitLabel,
    inbound: (label, data) => (isLiveKitLabel(label) ? livekitForward(sender, data, label) : undefined),
    levels,
  };
}

/** Clients of other protocols: LiveKit's labels neither reach them nor come from them unvouched. */
export const otherClientDataPolicy: DataPolicy = {
  accepts: (label) => !isLiveKitLabel(label),
  inbound: (label, data) => (isLiveKitLabel(label) ? undefined : { data }),
};

/**
 * A relay peer (another node's session of the room): every label crosses; a LiveKit packet, vouched
 * for on its sender's node, reaches only the identities it names among this node's peers. LiveKit's
 * channels exist on the link from the start, both ways (each end's subscriber PC opens them), so a
 * participant's first packets do not wait for the link to negotiate a channel for them.
 */
export function relayDataPolicy(room: string): DataPolicy {
  return {
    channels: LIVEKIT_CHANNEL_SPECS,
    inbound: (label, data) => {
      if (!isLiveKitLabel(label)) {
        return { data };
      }
      const packet = decode(data);
      return packet ? { data, ...addressed(room, packet) } : undefined;
    },
  };
}

/**
 * What a LiveKit participant's packet becomes: undefined (dropped) without canPublishData, over 64 KiB
 * or undecodable; else re-encoded with its sender's identity and sid (the packet's and, on a `user`
 * packet, the user's own fields) and the kind of the channel it came on (LiveKit trusts the channel),
 * addressed to its destination identities.
 */
export function livekitForward(
  sender: LiveKitSender,
  data: string | Buffer,
  label: string = LIVEKIT_RELIABLE,
): DataForward | undefined {
  if (!sender.canPublishData || Buffer.byteLength(data) > MAX_DATA_BYTES) {
    return undefined;
  }
  const packet = decode(data);
  if (!packet) {
    return undefined;
  }
  const identity = sender.hidden ? '' : sender.uid;
  const sid = sender.hidden ? '' : livekitSid.participant(sender.room, sender.uid);
  packet.participantIdentity = identity;
  packet.kind = label === LIVEKIT_LOSSY ? proto!.DataPacket_Kind.LOSSY : proto!.DataPacket_Kind.RELIABLE;
  packet.participantSid = sid;
  if (packet.value.case === 'user') {
    const user = packet.value.value;
    user.participantIdentity = identity;
    user.participantSid = sid;
    // Either level may name the destinations (the user's are the older field): both say the same.
    if (packet.destinationIdentities.length > 0) {
      user.destinationIdentities = [...packet.destinationIdentities];
    } else {
      packet.destinationIdentities = [...user.destinationIdentities];
    }
  }
  return { data: Buffer.from(packet.toBinary()), ...addressed(sender.room, packet) };
}

/** Who a packet is for: its destination identities, or (older clients) the user's destination sids. */
function addressed(room: string, packet: DataPacket): Pick<DataForward, 'to'> {
  const identities = new Set(packet.destinationIdentities);
  const user = packet.value.case === 'user' ? packet.value.value : undefined;
  if (user) {
    for (const id of user.destinationIdentities) {
      identities.add(id);
    }
  }
  const sids = new Set(user?.destinationSids ?? []);
  if (identities.size === 0 && sids.size === 0) {
    return {}; // everyone
  }
  return {
    to: (member) =>
      identities.has(member) || (sids.size > 0 && sids.has(livekitSid.participant(room, member))),
  };
}

function decode(data: string | Buffer): DataPacket | undefined {
  if (typeof data === 'string' || !proto) {
    return undefined; // livekit-client sends binary protobuf only
  }
  try {
    return proto.DataPacket.fromBinary(data);
  } catch (err) {
    logger.debug({ err }, 'dropped an undecodable LiveKit data packet');
    return undefined;
  }
}
