export { AgentRole, type AgentMessage, type WorkerMessage } from './AgentRole.ts';
export { workerPlan, portSlice, type WorkerPlan } from './workerCount.ts';
