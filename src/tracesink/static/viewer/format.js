// What the viewer writes the same way everywhere: times, a system's colour, event order.
// Pure functions, no DOM: the timeline, the rows and the list all use them.

// A trace is told by event time (the entry's `timestamp`: the sender's, clock-corrected, else
// the receive time), arrival order breaking ties, as GET /logs/{id} tells it. A drop marker sits
// at its first refusal; an item without a readable time (an undecodable one) sorts with the
// item before it, so it stays where it was stored. Times are fixed-width ISO strings: they sort
// as text.
const ISO_MS = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

export function eventKey(item) {
  const time = item.kind === "dropped" ? item.first : item.kind ? null : item.timestamp;
  if (typeof time === "number") return new Date(time).toISOString();
  return typeof time === "string" && ISO_MS.test(time) ? time : null;
}

/** `items` by event time, ties (and timeless items) in their given order; a new array. */
export function inEventOrder(items) {
  let previous = "";
  const keyed = items.map((item, index) => {
    const key = eventKey(item) ?? previous;
    previous = key;
    return { key, index, item };
  });
  keyed.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : a.index - b.index));
  return keyed.map((k) => k.item);
}

/** Where a late arrival goes in a list already in event order: after every item not later. */
export function insertionIndex(items, item) {
  const key = eventKey(item);
  if (key === null) return items.length; // no time of its own: where it arrived, the end
  let at = items.length;
  while (at > 0) {
    const before = eventKey(items[at - 1]);
    if (before !== null && before <= key) break;
    at -= 1;
  }
  return at;
}

export function millis(iso) { return iso ? Date.parse(iso) : NaN; }

/** 10:04:05.123 (UTC, as stored). */
export function wallClock(iso) { return typeof iso === "string" ? iso.slice(11, 23) : ""; }

/** +1.234 s after the trace's first entry (a gap's start may come before it: -0.500 s); past
 * 1,000 s the milliseconds stop mattering: +2 h 5 min. */
export function relative(ms) {
  if (!Number.isFinite(ms)) return "";
  const sign = ms < 0 ? "-" : "+";
  return Math.abs(ms) < 1_000_000 ? `${sign}${(Math.abs(ms) / 1000).toFixed(3)} s` : `${sign}${duration(Math.abs(ms))}`;
}

/** How long a trace lasted, in the unit a reader wants: 4.521 s, 12 min 3 s, 5 h 3 min, 3 d 2 h. */
export function duration(ms) {
  if (!Number.isFinite(ms)) return "";
  if (ms < 60_000) return `${(ms / 1000).toFixed(3)} s`;
  const s = Math.floor(ms / 1000), m = Math.floor(s / 60), h = Math.floor(m / 60), d = Math.floor(h / 24);
  if (m < 60) return `${m} min ${s % 60} s`;
  if (h < 24) return `${h} h ${m % 60} min`;
  return `${d} d ${h % 24} h`;
}

/** The clock correction an entry carries, as a reader says it: "clock +5.012 s corrected". */
export function correction(offsetMs) {
  const sign = offsetMs < 0 ? "-" : "+";
  return `clock ${sign}${(Math.abs(offsetMs) / 1000).toFixed(3)} s corrected`;
}

// Each system keeps one colour everywhere (badge, lane, tick), custom systems included: the
// built-in ones own the first five slots, any other name is hashed (FNV-1a, stable across
// pages and versions) onto the other seven, so a custom system never looks like a built-in one.
// The colour only repeats what the text says: the system's name is always written beside it.
const BUILT_IN = { browser: 0, worker: 1, convex: 2, python: 3, manual: 4 };
const FIRST_CUSTOM = 5, PALETTE = 12;

export function colourSlot(system) {
  if (Object.hasOwn(BUILT_IN, system)) return BUILT_IN[system];
  let hash = 0x811c9dc5;
  for (let i = 0; i < system.length; i += 1) {
    hash ^= system.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return FIRST_CUSTOM + (hash % (PALETTE - FIRST_CUSTOM));
}

export function colourClass(system) { return `c${colourSlot(system)}`; }
