// An ephemeral RTP termination of the media gateway: one local UDP port, a
// G.711 sender toward the remote SDP address, and a receiver that measures what
// arrives. Stream mode (RFC 3525 §7.1.7) gates sending; reception is always
// measured so a hold does not look like a media outage.
import type { Rng } from '../../util/rng.js';
import type { StreamMode } from '../h248/model.js';
import { RtpSender } from '../rtp/sender.js';
import { RtpReceiver } from '../rtp/receiver.js';
import type { G711Law } from '../rtp/g711.js';

export interface RtpDatagram { readonly fromPort: number; readonly toIp: string; readonly toPort: number; readonly bytes: Uint8Array }

export class RtpTermination {
  mode: StreamMode = 'sendReceive';
  remote: { ip: string; port: number } | undefined;
  readonly receiver = new RtpReceiver();
  private readonly sender: RtpSender;

  constructor(readonly termId: string, readonly port: number, readonly localIp: string, readonly law: G711Law, rng: Rng, nowUs: number) {
    this.sender = new RtpSender(rng, law, nowUs);
  }

  /** RFC 4566 SDP for Local{}: the port we receive on, PCMU/PCMA at 20 ms. */
  localSdp(): string {
    const pt = this.law === 'pcmu' ? 0 : 8;
    return `v=0\r\nc=IN IP4 ${this.localIp}\r\nm=audio ${this.port} RTP/AVP ${pt}\r\na=ptime:20`;
  }

  sends(): boolean { return this.remote !== undefined && (this.mode === 'sendReceive' || this.mode === 'sendOnly'); }

  deadline(): number | undefined { return this.sends() ? this.sender.pollDeadline() : undefined; }

  poll(nowUs: number, out: RtpDatagram[]): void {
    if (!this.sends()) {
      // Keep the clock moving so resuming does not burst stale packets.
      this.sender.idle(nowUs);
      return;
    }
    for (const bytes of this.sender.poll(nowUs)) out.push({ fromPort: this.port, toIp: this.remote!.ip, toPort: this.remote!.port, bytes });
  }
}

/** Extracts the media address of the first audio stream from an SDP view. */
export function sdpAddress(view: { connectionAddress?: string; media: readonly { media: string; port: number | '$'; connectionAddress?: string }[] }): { ip: string; port: number } | undefined {
  const m = view.media.find((x) => x.media === 'audio');
  if (!m || m.port === '$' || m.port <= 0 || m.port > 65535) return undefined;
  const ip = m.connectionAddress ?? view.connectionAddress;
  if (!ip || ip === '$') return undefined;
  return { ip, port: m.port };
}
