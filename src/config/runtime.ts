// Converting validated config sections into the runtime settings of the protocol
// modules (milliseconds in files → integer microseconds in code). No validation here
// (schema.ts) and no I/O.
import type { LivenessConfig } from '../sttcp/liveness.js';
import type { SttcpSection } from './schema.js';

export function livenessFromConfig(s: Pick<SttcpSection, 'heartbeatMs' | 'missCount' | 'leaseMs' | 'leaseMarginMs'>): LivenessConfig {
  return {
    heartbeatUs: s.heartbeatMs * 1000,
    missLimit: s.missCount,
    leaseUs: s.leaseMs * 1000,
    marginUs: s.leaseMarginMs * 1000,
  };
}
