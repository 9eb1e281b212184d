// Refusals without a command, in the isolate: a port of tracesink/store/refusals.py.
//
// Every write_batch.lua reply carries the counts of the fields it read. Within a window the shared
// counts only grow and the previous window's are final, so what this isolate last heard is a lower
// bound of the truth: a request that the window math refuses entirely on those bounds is refused
// on the true counts too, and is answered here without a command until the window could admit
// again. Anything that might fit goes to the script, the only one that ever admits.
//
// What an isolate remembers lives in module scope: it lasts as long as the isolate (Cloudflare
// keeps one per location while requests keep coming, and may evict it at any time; a new isolate
// starts knowing nothing, so its first refused request costs one script call, as a restarted
// Python process's does). docs/edge.md has the measurements.
//
// Drops refused here are held as one run per trace and written with the trace's next script call,
// or by a flush the Worker schedules with ctx.waitUntil, if the trace has a list as far as this
// isolate knows; otherwise they are only counted, so a refusal never creates a key.

import { LIMIT_LEVELS, decide, windowOf } from "./limits.js";

export const FLUSH_DELAY_MS = 2000;
// An isolate has 128 MB: past this many remembered traces the oldest knowledge is dropped (it is
// only an optimisation; forgetting costs a script call, never a wrong answer).
const MAX_TRACES_KNOWN = 50_000;

export class RefusalMemory {
  constructor(policy) {
    this.policy = policy;
    this.known = new Map(); // window index -> Map(field -> lower bound)
    this.pending = new Map(); // trace id -> {firstMs, lastMs, by: {level: n}}
    this.existsUntil = new Map(); // trace id -> until when its list surely exists
    this.flushDelayMs = Math.min(FLUSH_DELAY_MS, Math.max(1, policy.slackMs));
  }

  learn(nowMs, counts) {
    const [index] = windowOf(nowMs, this.policy.windowMs);
    let stale = false;
    for (const old of this.known.keys()) {
      if (old < index - 1) {
        this.known.delete(old);
        stale = true;
      }
    }
    if (stale || this.existsUntil.size > MAX_TRACES_KNOWN) {
      for (const [traceId, until] of this.existsUntil) {
        if (until <= nowMs || this.existsUntil.size > MAX_TRACES_KNOWN) this.existsUntil.delete(traceId);
      }
    }
    const at = (i) => {
      if (!this.known.has(i)) this.known.set(i, new Map());
      return this.known.get(i);
    };
    const curr = at(index);
    const prev = at(index - 1);
    for (const [name, inCurr, inPrev] of counts) {
      if (inCurr > (curr.get(name) ?? 0)) curr.set(name, inCurr);
      if (inPrev > (prev.get(name) ?? 0)) prev.set(name, inPrev);
    }
    if (curr.size > MAX_TRACES_KNOWN) this.known.clear();
  }

  forget() {
    this.known.clear();
  }

  // The request's decisions when every entry is refused on what is known; else null.
  decide(entries, nowMs) {
    const [index, elapsed] = windowOf(nowMs, this.policy.windowMs);
    const curr = this.known.get(index);
    const prev = this.known.get(index - 1);
    if (!curr?.size && !prev?.size) return null;
    const empty = new Map();
    if (decide(entries.slice(0, 1), prev ?? empty, new Map(curr ?? empty), elapsed, this.policy)[0].limitedBy === null) {
      return null;
    }
    const decisions = decide(entries, prev ?? empty, new Map(curr ?? empty), elapsed, this.policy);
    return decisions.some((d) => d.limitedBy === null) ? null : decisions;
  }

  wrote(traceId, atMs) {
    const until = atMs + this.policy.ttlMs;
    if (until > (this.existsUntil.get(traceId) ?? 0)) this.existsUntil.set(traceId, until);
  }

  // Hold a drop to write later; false when the trace has no list as far as this isolate knows.
  hold(traceId, level, nowMs) {
    let run = this.pending.get(traceId);
    if (run === undefined) {
      if ((this.existsUntil.get(traceId) ?? 0) <= nowMs) return false;
      run = { firstMs: nowMs, lastMs: nowMs, by: Object.fromEntries(LIMIT_LEVELS.map((l) => [l, 0])) };
      this.pending.set(traceId, run);
    }
    run.by[level] += 1;
    run.lastMs = Math.max(run.lastMs, nowMs);
    return true;
  }

  oldestMs() {
    let oldest = null;
    for (const run of this.pending.values()) {
      if (oldest === null || run.firstMs < oldest) oldest = run.firstMs;
    }
    return oldest;
  }

  // The runs of traceIds, and every run that has waited flushDelayMs; removed from here.
  // A busy trace (in a call in flight, which must land first) keeps its due run.
  take(traceIds, nowMs, busy = new Map()) {
    const wanted = new Set(traceIds);
    const due = nowMs - this.flushDelayMs;
    const taken = [];
    for (const [traceId, run] of this.pending) {
      if (wanted.has(traceId) || (run.firstMs <= due && !busy.get(traceId))) taken.push([traceId, run]);
    }
    for (const [traceId] of taken) this.pending.delete(traceId);
    return taken;
  }

  // Runs that could not be written: kept for the next try, merged with any held since.
  giveBack(runs) {
    for (const [traceId, run] of runs) {
      const later = this.pending.get(traceId);
      if (later !== undefined) {
        for (const level of LIMIT_LEVELS) run.by[level] += later.by[level];
        run.firstMs = Math.min(run.firstMs, later.firstMs);
        run.lastMs = Math.max(run.lastMs, later.lastMs);
      }
      this.pending.set(traceId, run);
    }
  }
}
