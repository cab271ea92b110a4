export type ErrorCode =
  'invalid-state' | 'invalid-params' | 'not-found' | 'timeout' | 'no-responder' | 'negotiation' | 'internal';

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
