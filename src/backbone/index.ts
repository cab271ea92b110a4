export type { Bus, BusHandler, BusReply, Subscription } from './Bus.ts';
export { BusRequestError, subjectMatches } from './Bus.ts';
export { MemoryBus } from './MemoryBus.ts';
export { NatsBus, type NatsBusStatus } from './NatsBus.ts';
export type { Store } from './Store.ts';
export { MemoryStore } from './MemoryStore.ts';
export { RedisStore, parseRedisAddr, type RedisStoreOptions } from './RedisStore.ts';
export { connectBackbone, type Backbone } from './connect.ts';
