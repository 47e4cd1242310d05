// Messages between `unbroken calls run` and its controller and gateway child
// processes (Node IPC channel). Plain JSON values; no behaviour here.
import type { ControllerEvent } from '../controller/controller.js';
import type { GatewayEvent } from '../gateway/media-gateway.js';
import type { CdrInsertOutcome } from '../cdr/record.js';
import type { PhoneOp } from '../scenario/call-mix.js';

export interface ControllerChildConfig {
  readonly id: string;
  readonly gateways: number;
  readonly lines: number;
  readonly cdr: string;
  readonly keepaliveUs: number;
  /** Silence bound armed on the gateways with it/ito. */
  readonly inactivityUs: number;
  readonly noAnswerUs: number;
  readonly rebuildWaitUs: number;
  readonly pcap: boolean;
  /** H.248 carrier: UDP (Annex D.1) or TCP with TPKT (Annex D.2). */
  readonly transport: 'udp' | 'tcp';
  /** Where to listen (port 0 = any free port). */
  readonly ip: string;
  readonly port: number;
}

export interface GatewayChildConfig {
  readonly index: number;
  readonly lines: number;
  readonly controllers: readonly string[];
  readonly controllerTimeoutUs: number;
  readonly noAnswer: readonly string[];
  readonly pcap: boolean;
  readonly transport: 'udp' | 'tcp';
}

export type ToChild =
  | { t: 'phone'; line: number; op: PhoneOp; digits?: string }
  | { t: 'all-on-hook' }
  | { t: 'query'; id: number }
  | { t: 'handoff'; target: string };

export interface GatewayStatus {
  readonly registeredWith: string | undefined;
  readonly contexts: number;
  readonly records: string[];
  readonly largestRtpGapUs: number;
  readonly largestRtpGapEndUs: number;
  readonly rtpGaps: { gapUs: number; endUs: number }[];
  readonly rtpPacketsReceived: number;
  readonly commandsRejected: number;
}

export interface ControllerStatus {
  readonly calls: number;
  readonly gateways: string[];
  readonly cdrInserted: number;
  readonly cdrDuplicates: number;
  readonly cdrErrors: number;
}

export type FromChild =
  | { t: 'ready'; addr: string; pid: number }
  | { t: 'ctl-event'; e: ControllerEvent }
  | { t: 'gw-event'; e: GatewayEvent; mgId: string }
  | { t: 'cdr'; callId: string; outcome: CdrInsertOutcome | 'error'; detail?: string }
  | { t: 'status'; id: number; gw?: GatewayStatus; ctl?: ControllerStatus }
  | { t: 'pcap'; tsUs: number; src: string; dst: string; data: string }
  | { t: 'fatal'; detail: string };
