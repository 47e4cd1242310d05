// The H248Codec the links use on the wire: the project's text encoding (compact
// tokens). One line of glue so engines never import the printer/parser directly.
import type { H248Codec } from './transaction-link.js';
import { encodeMessage } from '../h248/text-printer.js';
import { parseMessage } from '../h248/text-parser.js';

export const textCodec: H248Codec = {
  encode: (m) => encodeMessage(m),
  decode: (b) => parseMessage(b),
};
