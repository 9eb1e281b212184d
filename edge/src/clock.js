// Clock correction (a port of tracesink/ingest/clock.py): a request may carry the sender's clock
// when it sent it, as ?clock=<ms since the epoch> (sendBeacon cannot set headers) or an
// X-Client-Clock header (the header wins). offset = receive time - sent clock; it is applied to
// the entries' own times only when it is more than transit (>= 1 s) and less than a day.

import { ValidationError } from "./errors.js";
import { message } from "./messages.js";
import { RULES } from "./rules.js";

const CLOCK = RULES.clock; // names and bounds shared with the Python service (rules.json)
const LATEST_MS = RULES.entry.max_timestamp_ms;
const DIGITS = /^[0-9]{1,15}$/;
export const SENT_FIELD = CLOCK.sent_field;
export const OFFSET_FIELD = CLOCK.offset_field;

// The clock a request carries (ms), or null; a malformed one is a 400 naming `clock`.
export function clientClock(request) {
  const raw =
    request.headers.get(CLOCK.header) || new URL(request.url).searchParams.get(CLOCK.param);
  if (raw === null || raw === "") return null;
  if (!DIGITS.test(raw.trim())) throw new ValidationError(message("clock"), CLOCK.param);
  return Number(raw.trim());
}

// The correction to add to an entry's own time sentMs, or null when none applies.
export function clockOffset(clockMs, sentMs, nowMs) {
  if (clockMs === null || clockMs === undefined) return null;
  const offset = nowMs - clockMs;
  if (Math.abs(offset) < CLOCK.min_offset_ms || Math.abs(offset) >= CLOCK.max_offset_ms) return null;
  if (sentMs + offset < 0 || sentMs + offset >= LATEST_MS) return null;
  return offset;
}
