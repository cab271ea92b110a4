export type { Bus, BusHandler, BusReply, Subscription } from './Bus.ts';
export { BusRequestError, subjectMatches } from './Bus.ts';
export { MemoryBus } from './MemoryBus.ts';
export type { Store } from './Store.ts';
export { MemoryStore } from './MemoryStore.ts';
