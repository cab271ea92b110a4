/**
 * `switchboard recording list|start|stop|download`: the REST recording routes as the superservice
 * (keys from the environment, the configuration or `<datadir>/secrets.json`, like `switchboard room`).
 */
import { createWriteStream } from 'node:fs';
import { basename } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { apiClient, CliError, type ApiClientOptions } from './admin.ts';

export interface RecordingOptions extends ApiClientOptions {
  uid?: string;
  stream?: string;
  kind?: string;
  output?: string;
  json?: boolean;
}

interface RecordingJson {
  id: string;
  state: string;
  participant: { identity: string };
  path: string;
  size?: number;
  duration?: number;
  error?: string;
}

function line(r: RecordingJson): string {
  return [
    r.id,
    r.state,
    r.participant.identity,
    r.duration !== undefined ? `${r.duration.toFixed(1)}s` : '',
    r.size !== undefined ? `${r.size}B` : '',
    r.path,
    r.error ?? '',
  ]
    .filter((s) => s !== '')
    .join('  ');
}

export async function recordingCommand(
  action: string,
  room: string | undefined,
  id: string | undefined,
  o: RecordingOptions,
): Promise<string> {
  if (!room) {
    throw new CliError(`recording ${action} needs a room (name or id)`);
  }
  const api = await apiClient(o);
  const base = `/rooms/${encodeURIComponent(room)}/recordings`;
  const show = (r: RecordingJson): string => (o.json ? JSON.stringify(r, null, 2) : line(r));
  const needId = (): string => {
    if (!id) {
      throw new CliError(`recording ${action} needs a recording id`);
    }
    return encodeURIComponent(id);
  };
  switch (action) {
    case 'list': {
      const list = JSON.parse((await api.call('GET', base)).text) as RecordingJson[];
      if (o.json) {
        return JSON.stringify(list, null, 2);
      }
      return list.length === 0 ? '(no recordings)' : list.map(line).join('\n');
    }
    case 'start': {
      if (o.uid === undefined && o.stream === undefined) {
        throw new CliError('recording start needs --uid or --stream');
      }
      if (o.kind !== undefined && o.kind !== 'audio' && o.kind !== 'video') {
        throw new CliError('--kind is audio or video');
      }
      const body = {
        ...(o.uid !== undefined ? { uid: o.uid } : {}),
        ...(o.stream !== undefined ? { streamId: o.stream } : {}),
        ...(o.kind !== undefined ? { kind: o.kind } : {}),
      };
      return show(JSON.parse((await api.call('POST', base, body)).text) as RecordingJson);
    }
    case 'stop':
      return show(JSON.parse((await api.call('DELETE', `${base}/${needId()}`)).text) as RecordingJson);
    case 'download': {
      const res = await api.fetch('GET', `${base}/${needId()}/file`);
      const named = /filename="([^"]+)"/.exec(res.headers.get('content-disposition') ?? '')?.[1];
      const file = o.output ?? basename(named ?? `${id}.webm`);
      if (!res.body) {
        throw new CliError('the server sent no file');
      }
      try {
        // 'wx': an existing file is never overwritten.
        await pipeline(
          Readable.fromWeb(res.body as WebReadableStream),
          createWriteStream(file, { flags: 'wx' }),
        );
      } catch (err) {
        throw new CliError(`cannot write ${file}: ${(err as Error).message}`);
      }
      return file;
    }
    default:
      throw new CliError(`unknown recording action "${action}" (list, start, stop, download)`);
  }
}
