export { RegistryRole } from './RegistryRole.ts';
export { selectNode, placementScore } from './selectNode.ts';
export type { NodeLoad } from '../protocol/cluster.ts';
