/**
 * Error classes of the client SDK. Each carries a stable `code`, so callers can branch without parsing
 * messages: JSON-RPC errors keep the server's numeric code (ion-sfu methods answer `{code:500,message}`,
 * protocol faults use -32700/-32600/-32601/-32602); local failures use string codes.
 */
export class SwitchboardClientError extends Error {
  readonly code: number | string;

  constructor(code: number | string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** The server answered a call with a JSON-RPC error object. */
export class RpcError extends SwitchboardClientError {
  declare readonly code: number;
  /** The error object's optional `data` member. */
  readonly data: unknown;

  constructor(code: number, message: string, data?: unknown) {
    super(code, message);
    this.data = data;
  }
}

/** A call got no response in time, or `join` saw no `ion-sfu` data channel in time. */
export class TimeoutError extends SwitchboardClientError {
  constructor(message: string) {
    super('timeout', message);
  }
}

/** A method was called on a closed object, or before the state it needs (e.g. `mute` before `publish`). */
export class InvalidStateError extends SwitchboardClientError {
  constructor(message: string, options?: ErrorOptions) {
    super('invalid-state', message, options);
  }
}

/** WebRTC negotiation failed (offer/answer could not be created or applied). */
export class NegotiationError extends SwitchboardClientError {
  constructor(message: string, options?: ErrorOptions) {
    super('negotiation', message, options);
  }
}
