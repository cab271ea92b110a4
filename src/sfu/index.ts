export { SfuRole, mediaOptions } from './SfuRole.ts';
