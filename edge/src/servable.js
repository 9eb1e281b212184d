// What ingest stores, every reader can serve: tracesink/ingest/servable.py, text for text, so
// that both ingesters store the same bytes (docs/http-api.md, "What the door normalises and
// refuses"). A byte order mark is dropped by decodeText (TextDecoder does); a lone surrogate
// escape becomes \ufffd; a number beyond a 64-bit float's range is a 400 naming the field.

import { ValidationError } from "./errors.js";
import { message } from "./messages.js";
import { RULES } from "./rules.js";

const REPLACEMENT_ESCAPE = "\\ufffd";
const SURROGATE = /\\u[dD][89a-fA-F]/;
// Escapes, left to right: a high surrogate with its low one, a lone one, or any other escape.
const ESCAPE =
  /\\(?:u[dD][89abAB][0-9a-fA-F]{2}(?:\\u[dD][c-fC-F][0-9a-fA-F]{2})?|u[dD][c-fC-F][0-9a-fA-F]{2}|[\s\S])/g;
// Only 200 digits in a row or a three-digit exponent can leave a float's range.
const BIG_NUMBER = /\d{200}|[eE][+-]?\d{3}/;
const STRING_OR_NUMBER = /"[^"\\]*(?:\\.[^"\\]*)*"|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/g;
const EXCERPT_CHARS = RULES.entry.excerpt_chars; // src/tracesink/rules.json's
// msgspec decodes an integer of at most this many characters (Python's int_max_str_digits).
export const MAX_INTEGER_CHARS = 4300;

// `text` with each lone surrogate escape replaced (six characters: an escape on its own).
export function wellFormed(text) {
  if (!SURROGATE.test(text)) return text;
  return text.replace(ESCAPE, (escape) => (escape.length === 6 ? REPLACEMENT_ESCAPE : escape));
}

function unservableNumber(raw) {
  if (!BIG_NUMBER.test(raw)) return null;
  for (const [token] of raw.matchAll(STRING_OR_NUMBER)) {
    if (token[0] !== '"' && !Number.isFinite(Number(token))) {
      return token.length > EXCERPT_CHARS
        ? `${token.slice(0, EXCERPT_CHARS)}… (${token.length} characters)`
        : token;
    }
  }
  return null;
}

// 400 naming `field` when the JSON `raw` holds a number no reader can represent.
export function checkNumbers(raw, field) {
  const written = unservableNumber(raw);
  if (written !== null) {
    throw new ValidationError(message("number_range", { field, written }), field);
  }
}

// msgspec's refusals of a typed field's number, in its words.
export function numberOutOfRange(name) {
  return new ValidationError(`Number out of range - at \`$.${name}\``, name);
}

export function integerOutOfRange(name) {
  return new ValidationError(`Integer value out of range - at \`$.${name}\``, name);
}
