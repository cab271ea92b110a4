export { TransportPool, PeerSockets, hostAddresses, type TransportPoolOptions } from './TransportPool.ts';
export { UdpMux, type MuxEndpoint, type UdpMuxStats } from './UdpMux.ts';
export { TcpMux, type TcpEndpoint } from './TcpMux.ts';
export { IceMonitor, IceActivity, type IceTimeouts, type MonitoredAgent } from './IceMonitor.ts';
