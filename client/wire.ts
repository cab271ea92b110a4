/**
 * Decoding of server messages. The server is trusted to speak the protocol, but a malformed message must
 * become an `error` event, not a TypeError deep inside a WebRTC callback.
 */
import type { ActiveLayer, Participant, StreamInfo, Target, WireDescription } from './types.ts';

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

/**
 * A session description of the expected type. Accepts `{type,sdp}` and the `{desc:{type,sdp}}` wrapper (the
 * server's `offer` notification carries the bare description, our own calls wrap it).
 */
export function parseDescription(value: unknown, type: WireDescription['type']): WireDescription {
  const desc = isObject(value) && isObject(value.desc) ? value.desc : value;
  if (!isObject(desc) || typeof desc.sdp !== 'string' || (desc.type !== undefined && desc.type !== type)) {
    throw new TypeError(`expected a session description of type ${type}`);
  }
  return { type, sdp: desc.sdp };
}

/** Params of a server `trickle` notification: `{candidate: RTCIceCandidateInit, target: 0|1}`. */
export function parseTrickle(value: unknown): { target: Target; candidate: RTCIceCandidateInit } {
  if (!isObject(value) || (value.target !== 0 && value.target !== 1)) {
    throw new TypeError('trickle: expected {candidate, target: 0|1}');
  }
  let candidate: unknown = value.candidate;
  if (typeof candidate === 'string') {
    // ion's gRPC signal carries the init as a JSON string; accept either spelling.
    try {
      candidate = JSON.parse(candidate);
    } catch {
      candidate = { candidate, sdpMLineIndex: 0 };
    }
  }
  if (!isObject(candidate) || typeof candidate.candidate !== 'string') {
    throw new TypeError('trickle: candidate is not an RTCIceCandidateInit');
  }
  const init: RTCIceCandidateInit = { candidate: candidate.candidate };
  if (typeof candidate.sdpMid === 'string') {
    init.sdpMid = candidate.sdpMid;
  }
  if (typeof candidate.sdpMLineIndex === 'number') {
    init.sdpMLineIndex = candidate.sdpMLineIndex;
  }
  if (typeof candidate.usernameFragment === 'string') {
    init.usernameFragment = candidate.usernameFragment;
  }
  if (init.sdpMid === undefined && init.sdpMLineIndex === undefined) {
    init.sdpMLineIndex = 0;
  }
  return { target: value.target, candidate: init };
}

function parseStream(value: unknown): StreamInfo | undefined {
  if (!isObject(value) || typeof value.streamId !== 'string') {
    return undefined;
  }
  return {
    streamId: value.streamId,
    audio: value.audio === true,
    video: value.video === true,
    audioMuted: value.audioMuted === true,
    videoMuted: value.videoMuted === true,
  };
}

/** Params of our `participants` notification: `{peers:[{uid, name, streams:[...]}]}`. */
export function parseParticipants(value: unknown): Participant[] {
  if (!isObject(value) || !Array.isArray(value.peers)) {
    throw new TypeError('participants: expected {peers: [...]}');
  }
  const peers: Participant[] = [];
  for (const peer of value.peers as unknown[]) {
    if (!isObject(peer) || typeof peer.uid !== 'string') {
      continue;
    }
    const streams = Array.isArray(peer.streams) ? (peer.streams as unknown[]) : [];
    peers.push({
      uid: peer.uid,
      name: typeof peer.name === 'string' ? peer.name : '',
      streams: streams.map(parseStream).filter((s): s is StreamInfo => s !== undefined),
    });
  }
  return peers;
}

export type ChannelMessage =
  | { kind: 'audioLevels'; streamIds: string[] }
  | { kind: 'activeLayer'; layer: ActiveLayer }
  | { kind: 'other' };

/** A message of the `ion-sfu` data channel (reference/ion.md §2f), including the legacy bare array. */
export function parseChannelMessage(text: string): ChannelMessage {
  if (text === 'pong') {
    return { kind: 'other' };
  }
  const msg: unknown = JSON.parse(text);
  if (Array.isArray(msg)) {
    return { kind: 'audioLevels', streamIds: msg.filter((s): s is string => typeof s === 'string') };
  }
  if (!isObject(msg)) {
    return { kind: 'other' };
  }
  if (msg.method === 'audioLevels') {
    const params = Array.isArray(msg.params) ? (msg.params as unknown[]) : [];
    return { kind: 'audioLevels', streamIds: params.filter((s): s is string => typeof s === 'string') };
  }
  if (msg.method === 'activeLayer' && isObject(msg.params) && typeof msg.params.streamId === 'string') {
    const p = msg.params;
    return {
      kind: 'activeLayer',
      layer: {
        streamId: p.streamId as string,
        activeLayer: typeof p.activeLayer === 'string' ? p.activeLayer : '',
        availableLayers: Array.isArray(p.availableLayers)
          ? (p.availableLayers as unknown[]).filter((s): s is string => typeof s === 'string')
          : [],
      },
    };
  }
  return { kind: 'other' };
}
