// The simulator's public surface, for tests, the demo and the technique simulations.
// Implementation lives in the files named below; nothing is defined here.
//
//   const sim = new Simulator({ seed });                       // one seed decides everything
//   sim.addNode('sw', new LearningSwitch({ ports: 3, mirror: { sources: [1], direction: 'both', monitor: 2 } }));
//   const a = sim.addNode('a', (ctx) => new Host({ ..., rng: ctx.rng }));   // a factory: restartable
//   const l = sim.link(['a', 0], ['sw', 0], { latencyUs: 100, bandwidthBps: 1e9, queueFrames: 128 });
//   sim.addFault(l, { kind: 'loss', rate: 0.05 });           // per link, direction or port; composable
//   sim.partitionAt(t1, l, t2); sim.crashAt(t3, 'a'); sim.restartAt(t4, 'a');
//   const pcap = sim.capturePort('sw', 2);                    // or sim.tapPort(node, if, sink)
//   sim.at(1000, () => a.as<Host>().connect(...));            // calls on endpoints, drained after
//   sim.runWhile(() => !done, limitUs);                        // every run is bounded
//   sim.traceHash(); sim.counters(); pcap.writeFile(path);
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
