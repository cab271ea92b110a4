export { RegistryRole } from './RegistryRole.ts';
export { selectNode, placementScore, PEER_WEIGHT, ROOM_WEIGHT } from './selectNode.ts';
export type { NodeLoad } from '../protocol/cluster.ts';
