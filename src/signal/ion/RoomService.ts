// TEMPORARY STUB by the lead engineer so the server starts while RoomService is written: overwrite freely.
import type { Bus, Store } from '../../backbone/index.ts';
import { Status, type GrpcCall } from './GrpcCall.ts';
import type { IonAuth } from './ionAuth.ts';

export class RoomService {
  constructor(_o: { bus: Bus; store: Store; dc: string; auth: IonAuth }) {}
  handle(call: GrpcCall): void {
    call.end(Status.UNIMPLEMENTED, 'not yet');
  }
}
