import { randomBytes } from 'node:crypto';
import type { WebSocket } from 'ws';
import type { z } from 'zod';
import type { Bus } from '../backbone/index.ts';
import { BusRequestError } from '../backbone/index.ts';
import { isMethod, methods } from '../protocol/ionSfu.ts';
import { subjects, type PeerRequest } from '../protocol/cluster.ts';
import { parseJsonRpc, rpcError, rpcResult, RPC, type JsonRpcId } from './jsonRpc.ts';
import { logger } from '../util/logger.ts';

/** Calls a client may make only after `join` (ion-sfu's wording for the error). */
const NOT_JOINED = 'no rtc transport exists for this Peer';

/**
 * One client WebSocket: parses its JSON-RPC frames one at a time (ion-sfu handles a connection's
 * messages sequentially), validates params, and forwards them over the Bus to the media node that
 * owns the room. Malformed input gets a JSON-RPC error and never affects anyone else.
 */
export class ClientConnection {
  readonly conn: string;
  readonly #ws: WebSocket;
  readonly #bus: Bus;
  readonly #dc: string;
  readonly #signalNode: string;
  #node: string | undefined;
  #queue: Promise<void> = Promise.resolve();
  #closed = false;

  constructor(ws: WebSocket, conn: string, signalNode: string, dc: string, bus: Bus) {
    this.#ws = ws;
    this.conn = conn;
    this.#signalNode = signalNode;
    this.#dc = dc;
    this.#bus = bus;
  }

  /** Queues a frame; frames are handled strictly in arrival order. */
  receive(text: string): void {
    this.#queue = this.#queue
      .then(() => this.#handle(text))
      .catch((err: unknown) => logger.error({ err }, 'frame handling failed'));
  }

  send(text: string): void {
    if (!this.#closed && this.#ws.readyState === this.#ws.OPEN) {
      this.#ws.send(text);
    }
  }

  /** The socket went away: the media node drops the peer. */
  close(): void {
    if (this.#closed) {
      return;
    }
    this.#closed = true;
    if (this.#node) {
      this.#forward('leave', null).catch(() => undefined);
    }
  }

  async #handle(text: string): Promise<void> {
    const parsed = parseJsonRpc(text);
    if (!parsed.ok) {
      this.send(rpcError(parsed.id, parsed.code, parsed.message));
      return;
    }
    const { id, method, params } = parsed.request;
    // ion-sfu answers failed notifications too, with id 0.
    const replyId: JsonRpcId = id === undefined ? 0 : id;
    if (!isMethod(method)) {
      this.send(rpcError(id ?? null, RPC.METHOD_NOT_FOUND, `Method not found: ${method}`));
      return;
    }
    const schema: z.ZodType = methods[method];
    const checked = schema.safeParse(params);
    if (!checked.success) {
      const detail = checked.error.issues
        .map((i) => `${i.path.join('.') || 'params'}: ${i.message}`)
        .join('; ');
      this.send(rpcError(id ?? null, RPC.INVALID_PARAMS, `Invalid params: ${detail}`));
      return;
    }
    try {
      if (method === 'join') {
        if (this.#node) {
          throw new Error('rtc transport already exists for this connection');
        }
        const { sid } = checked.data as { sid: string };
        const { node } = await this.#bus.request<{ node: string }>(subjects.registryPlace(this.#dc), {
          room: sid,
        });
        this.#node = node;
        try {
          const answer = await this.#forward('join', checked.data);
          this.#reply(id, answer);
        } catch (err) {
          this.#node = undefined;
          throw err;
        }
        return;
      }
      if (!this.#node) {
        throw new Error(NOT_JOINED);
      }
      this.#reply(id, await this.#forward(method, checked.data));
    } catch (err) {
      let message = errorText(err);
      if (err instanceof BusRequestError && err.code === 'internal') {
        // Never leak internals: the client gets a log id to quote, the log gets the details.
        const logId = randomBytes(4).toString('hex');
        logger.error({ err, method, logId }, 'method failed');
        message = `internal error (log id ${logId})`;
      }
      this.send(rpcError(replyId, RPC.METHOD_FAILED, message));
    }
  }

  #reply(id: JsonRpcId | undefined, result: unknown): void {
    if (id !== undefined) {
      this.send(rpcResult(id, result));
    }
  }

  #forward(method: PeerRequest['method'], params: unknown): Promise<unknown> {
    const req: PeerRequest = { conn: this.conn, signal: this.#signalNode, method, params };
    return this.#bus.request(subjects.sfuRpc(this.#dc, this.#node!), req, { timeoutMs: 15_000 });
  }
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
