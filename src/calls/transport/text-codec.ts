// The project's text encoding (compact tokens) as one encode/decode pair, for tools
// and tests that handle whole messages (the transaction engines call the codec themselves).
import type { Message } from '../h248/model.js';
import type { ParseResult } from '../../wire/result.js';
import { encodeMessage } from '../h248/text-printer.js';
import { parseMessage } from '../h248/text-parser.js';

export interface H248Codec {
  encode(m: Message): Uint8Array;
  decode(bytes: Uint8Array): ParseResult<Message>;
}

export const textCodec: H248Codec = {
  encode: (m) => encodeMessage(m),
  decode: (b) => parseMessage(b),
};
