export type ErrorCode =
  | 'invalid-state'
  | 'invalid-params'
  | 'not-found'
  | 'timeout'
  | 'no-responder'
  | 'negotiation'
  | 'internal'
  /** No credentials, or credentials that do not verify (bad signature, expired, replayed). */
  | 'unauthorized'
  /** Valid credentials that do not allow this (wrong room, missing grant, room locked or full). */
  | 'forbidden'
  /** The request conflicts with current state (e.g. a name already taken). */
  | 'conflict'
  /** A role this needs is not running (e.g. no room service in the cluster). */
  | 'unavailable'
  /** A per-client limit was hit (join rate, peers per address): try again later. */
  | 'limited';

/** Our few error classes carry a stable `code`; edges map codes to wire errors in one table each. */
export class SwitchboardError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

export class InvalidStateError extends SwitchboardError {
  constructor(message: string, options?: ErrorOptions) {
    super('invalid-state', message, options);
  }
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
