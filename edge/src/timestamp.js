// A sender's `timestamp` → milliseconds since the epoch: tracesink/ingest/timestamp.py's grammar
// and arithmetic (the same regex, the same floor to the millisecond, the same double arithmetic
// for numbers), so that the same text gives the same millisecond on both ingesters.

import { ValidationError } from "./errors.js";
import { message } from "./messages.js";
import { RULES } from "./rules.js";
import { whole } from "./settings.js";

// The grammar, the nudge and the range are src/tracesink/rules.json's, the Python service's own.
export const MAX_TIMESTAMP_MS = RULES.entry.max_timestamp_ms; // year 10000: ISO 8601's last
const SECONDS_BELOW = RULES.entry.seconds_below;
const NUDGE_MS = RULES.entry.timestamp_nudge_ms;
const ISO = whole(RULES.entry.timestamp_iso);
const OFFSET = whole(RULES.entry.timestamp_offset);

const malformed = () => new ValidationError(message("timestamp_form"), "timestamp");
const outOfRange = () => new ValidationError(message("timestamp_range"), "timestamp");

// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's days_from_civil).
function daysFromCivil(y, m, d) {
  y -= m <= 2 ? 1 : 0;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

const isLeap = (y) => y % 4 === 0 && (y % 100 !== 0 || y % 400 === 0);
const LAST_DAY = daysFromCivil(9999, 12, 31);

// date(y, m, d) and date.fromisocalendar(y, w, d) of Python, with its refusals.
function day(m) {
  const year = Number(m[1]);
  if (year < 1) throw malformed();
  if (m[2] !== undefined || m[4] !== undefined) {
    const month = Number(m[2] ?? m[4]);
    const dayOfMonth = Number(m[3] ?? m[5]);
    const lengths = [31, isLeap(year) ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
    if (month < 1 || month > 12 || dayOfMonth < 1 || dayOfMonth > lengths[month - 1]) {
      throw malformed();
    }
    return daysFromCivil(year, month, dayOfMonth);
  }
  const week = Number(m[6] ?? m[8]);
  const weekday = Number(m[7] ?? m[9] ?? 1);
  const jan1 = daysFromCivil(year, 1, 1);
  const jan1Weekday = ((((jan1 + 3) % 7) + 7) % 7) + 1; // 1970-01-01 was a Thursday (4)
  const longYear = jan1Weekday === 4 || (jan1Weekday === 3 && isLeap(year));
  if (week < 1 || week > (longYear ? 53 : 52)) throw malformed();
  const jan4 = jan1 + 3;
  const jan4Weekday = ((((jan4 + 3) % 7) + 7) % 7) + 1;
  const days = jan4 - (jan4Weekday - 1) + (week - 1) * 7 + (weekday - 1);
  if (days > LAST_DAY) throw malformed(); // year 10000: out of Python's date range
  return days;
}

function isoMs(text) {
  const m = ISO.exec(text);
  if (m === null) throw malformed();
  const [hour, minute, second] = [m[10], m[11], m[12]].map((part) => Number(part ?? 0));
  if (hour > 23 || minute > 59 || second > 59) throw malformed();
  let offsetS = 0;
  if (m[14] !== undefined && m[14] !== "Z" && m[14] !== "z") {
    const [, sign, hours, minutes = "0", seconds = "0"] = OFFSET.exec(m[14]);
    if (Number(hours) > 23 || Number(minutes) > 59 || Number(seconds) > 59) throw malformed();
    offsetS = Number(hours) * 3600 + Number(minutes) * 60 + Number(seconds);
    if (sign === "-") offsetS = -offsetS;
  }
  const secondsTotal = day(m) * 86400 + hour * 3600 + minute * 60 + second - offsetS;
  return secondsTotal * 1000 + Number((m[13] ?? "").slice(0, 3).padEnd(3, "0"));
}

// A sender's timestamp as milliseconds since the epoch; 400 naming `timestamp` when it is not
// one, or before 1970, or from year 10000 on.
export function timestampMs(value) {
  let ms;
  if (typeof value === "string") {
    ms = isoMs(value);
  } else {
    if (!Number.isFinite(value) || value < 0) {
      throw new ValidationError(message("timestamp_negative"), "timestamp");
    }
    if (value >= MAX_TIMESTAMP_MS) throw outOfRange();
    ms = Math.floor((value < SECONDS_BELOW ? value * 1000 : value) + NUDGE_MS);
  }
  if (!(ms >= 0 && ms < MAX_TIMESTAMP_MS)) throw outOfRange();
  return ms;
}
