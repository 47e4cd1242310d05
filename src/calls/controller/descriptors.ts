// The H.248 descriptors the call flows send, built once here so every flow arms
// the same events and tones (RFC 3525 Annex E packages al, dd, cg). Pure values.
import type { EventsDescriptor, MediaDescriptor, SignalsDescriptor } from '../h248/model.js';
import { events, signal } from '../h248/model.js';
import { Pkg } from '../common/packages.js';
import { DIGIT_MAP } from '../common/numbering.js';
import { RECORD_PROPERTY, printRecord } from '../record/call-record.js';
import type { CallRecord } from '../record/call-record.js';

const RID = 1;
/** Idle or ringing line: wait for off-hook. */
export const EV_IDLE: EventsDescriptor = events(RID, Pkg.offHook);
/** Collecting digits: hang-up, flash, digit-map completion (E.6 dd/ce with the plan's map). */
export const EV_DIAL: EventsDescriptor = evDial(DIGIT_MAP);
/** EV_DIAL with another plan's digit map (plans of more than 99 lines per gateway dial longer numbers). */
export function evDial(digitMap: string): EventsDescriptor {
  return events(RID, Pkg.onHook, Pkg.flashHook, { name: Pkg.digitCompletion, digitMap: { value: digitMap } });
}
/** In a call: hang-up and flash. */
export const EV_TALK: EventsDescriptor = events(RID, Pkg.onHook, Pkg.flashHook);
/** Hearing a tone after the call ended: wait for hang-up. */
export const EV_TONE: EventsDescriptor = events(RID, Pkg.onHook);
/** State unknown after a failover: either hook transition. */
export const EV_ANY_HOOK: EventsDescriptor = events(RID, Pkg.offHook, Pkg.onHook);

export const SG_NONE: SignalsDescriptor = [];
export const SG_DIAL_TONE: SignalsDescriptor = [signal(Pkg.dialTone)];
export const SG_RINGBACK: SignalsDescriptor = [signal(Pkg.ringbackTone)];
export const SG_BUSY: SignalsDescriptor = [signal(Pkg.busyTone)];
export const SG_RING: SignalsDescriptor = [signal(Pkg.ring)];

/** The call record as a TerminationState property of the party's line. */
export function recordMedia(r: CallRecord): MediaDescriptor {
  return { terminationState: { properties: { [RECORD_PROPERTY]: printRecord(r) } }, streams: [] };
}
