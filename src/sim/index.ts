// The simulator's public surface, for tests, the demo and the technique simulations.
// Implementation lives in the files named below; nothing is defined here.
export { Simulator, SimNode, SimLimitError } from './simulator.js';
export type { SimulatorOptions, NodeContext, NodeFactory, FaultTarget, PortSpec } from './simulator.js';
export { SimLink, LinkDirection, LINK_DIRECTION_STATS } from './link.js';
export type { LinkConfig, LinkDirectionStat, PortRef, FrameSink } from './link.js';
export { FaultRule, applyRules } from './faults.js';
export type { FaultSpec, FaultKind, InFlight } from './faults.js';
export { Hub, LearningSwitch } from './boxes.js';
export type { HubOptions, SwitchOptions, MirrorConfig, MirrorDirection } from './boxes.js';
export { PcapWriter } from './pcap.js';
export type { PcapOptions } from './pcap.js';
export { Trace } from './trace.js';
export { EventQueue } from './event-queue.js';
