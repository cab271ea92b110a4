export { SfuRole, mediaOptions, DRAIN_TIMEOUT_MS } from './SfuRole.ts';
