/** What the page says when something fails: plain words, not codes. */
import { RpcError, TimeoutError, UnsupportedCodecError } from '../client/index.ts';
import type { CloseReason } from '../client/index.ts';

/** Why the call ended, for a `close` the person did not ask for. */
export function closeText(reason: CloseReason): string {
  switch (reason) {
    case 'socket-closed':
      return 'The connection to the server was lost and could not be restored.';
    case 'ice-failed':
      return 'The media connection failed and could not be restored (a firewall or VPN may block it).';
    case 'server-reconnect':
      return 'The server moved the meeting and could not take you along. Join again.';
    case 'join-failed':
      return 'Could not join the room.';
    default:
      return 'You left the room.';
  }
}

/** Why a join failed. */
export function joinErrorText(err: unknown): string {
  if (err instanceof UnsupportedCodecError) {
    return err.message;
  }
  if (err instanceof TimeoutError) {
    return 'The server did not answer in time. Check the address and your connection, then try again.';
  }
  if (err instanceof RpcError) {
    if (err.code === 401) {
      return `This room needs an access token that is valid: ${err.message}`;
    }
    if (err.code === 403) {
      return `You may not join this room: ${err.message}`;
    }
    return `The server refused the join: ${err.message}`;
  }
  if (err instanceof DOMException && err.name === 'NotAllowedError') {
    return 'Camera and microphone are blocked for this page.';
  }
  const text = err instanceof Error ? err.message : String(err);
  return /websocket|socket/i.test(text) ? 'Could not reach the server.' : text;
}
