// Clock correction (a port of tracesink/ingest/clock.py): a request may carry the sender's clock
// when it sent it, as ?clock=<ms since the epoch> (sendBeacon cannot set headers) or an
// X-Client-Clock header (the header wins). offset = receive time - sent clock; it is applied to
// the entries' own times only when it is more than transit (>= 1 s) and less than a day.

import { ValidationError } from "./errors.js";

const CLOCK_HEADER = "x-client-clock";
const CLOCK_RULE = "clock must be the sender's clock in milliseconds since the epoch (digits only)";
const MIN_MS = 1000; // below a second an offset cannot be told from the request's transit time
const MAX_MS = 86_400_000; // a clock a day or more off is broken: its entries keep their own time
const LATEST_MS = 253402300800000;
const DIGITS = /^[0-9]{1,15}$/;

// The clock a request carries (ms), or null; a malformed one is a 400 naming `clock`.
export function clientClock(request) {
  const raw = request.headers.get(CLOCK_HEADER) || new URL(request.url).searchParams.get("clock");
  if (raw === null || raw === "") return null;
  if (!DIGITS.test(raw.trim())) throw new ValidationError(CLOCK_RULE, "clock");
  return Number(raw.trim());
}

// The correction to add to an entry's own time sentMs, or null when none applies.
export function clockOffset(clockMs, sentMs, nowMs) {
  if (clockMs === null || clockMs === undefined) return null;
  const offset = nowMs - clockMs;
  if (Math.abs(offset) < MIN_MS || Math.abs(offset) >= MAX_MS) return null;
  if (sentMs + offset < 0 || sentMs + offset >= LATEST_MS) return null;
  return offset;
}
