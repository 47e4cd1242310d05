// Package item names the call flows use (RFC 3525 Annex E: g, al, dd, cg; it),
// gathered so the gateway and controller spell them the same way. The codec
// helper's package constants may supersede these; names are the standard ones.

export const Pkg = {
  offHook: 'al/of',        // E.9.1 analog line: off-hook event
  onHook: 'al/on',         // E.9.2 on-hook event
  flashHook: 'al/fl',      // E.9.3 flash-hook event
  ring: 'al/ri',           // E.9 ringing signal
  digitCompletion: 'dd/ce',// E.6 DTMF detection: digit map completion event (ds = digit string, Meth)
  dialTone: 'cg/dt',       // E.7 call progress generator: dial tone
  ringbackTone: 'cg/rt',   // ringing (ringback) tone
  busyTone: 'cg/bt',       // busy tone
  inactivityTimeout: 'it/ito', // E.? inactivity timer: MGC inactivity timeout (parameter mit)
} as const;
