// Sliding-window math: a port of tracesink/limits.py (itself mirrored by write_batch.lua).
// Only the refusal memory uses it: every admission is decided by the Lua script. Integers in
// milliseconds, exact below 2^53 like the script's doubles.

export const LIMIT_LEVELS = ["global", "system", "trace"];

export function windowOf(nowMs, windowMs) {
  return [Math.floor(nowMs / windowMs), nowMs % windowMs];
}

function hasRoom(prev, curr, elapsed, window, limit) {
  return prev * (window - elapsed) + (curr + 1) * window <= limit * window;
}

function remaining(prev, curr, elapsed, window, limit) {
  return Math.max(0, Math.floor((limit * window - prev * (window - elapsed) - curr * window) / window));
}

function retryAfterMs(prev, curr, elapsed, window, limit) {
  if (curr + 1 <= limit) {
    if (prev === 0) return 0;
    return Math.max(0, window - Math.floor(((limit - curr - 1) * window) / prev) - elapsed);
  }
  const needed = curr ? window - Math.floor(((limit - 1) * window) / curr) : 0;
  return window - elapsed + Math.max(0, needed);
}

// (level name, counter field, limit) for each level that applies to an entry.
export function levelsOf(policy, traceId, system) {
  const levels = [["global", "g", policy.globalLimit]];
  const systemLimit = policy.systemLimits.get(system);
  if (systemLimit !== undefined) levels.push(["system", `s:${system}`, systemLimit]);
  levels.push(["trace", `t:${traceId}`, policy.traceLimit]);
  return levels;
}

// A decision: {limitedBy: null | "global" | "system" | "trace", remaining: {level: n}, retryAfterMs}.
export function decide(entries, prev, curr, elapsed, policy) {
  const window = policy.windowMs;
  const decisions = [];
  for (const [traceId, system] of entries) {
    const levels = levelsOf(policy, traceId, system);
    const count = (map, field) => map.get(field) ?? 0;
    const full = levels.filter(
      ([, field, limit]) => !hasRoom(count(prev, field), count(curr, field), elapsed, window, limit),
    );
    if (full.length === 0) {
      for (const [, field] of levels) curr.set(field, count(curr, field) + 1);
    }
    const left = {};
    for (const [name, field, limit] of levels) {
      left[name] = remaining(count(prev, field), count(curr, field), elapsed, window, limit);
    }
    if (full.length) {
      const wait = Math.max(
        ...full.map(([, f, lim]) => retryAfterMs(count(prev, f), count(curr, f), elapsed, window, lim)),
      );
      decisions.push({ limitedBy: full[0][0], remaining: left, retryAfterMs: wait });
    } else {
      decisions.push({ limitedBy: null, remaining: left, retryAfterMs: 0 });
    }
  }
  return decisions;
}

export function remainingQuota(decision) {
  return decision.limitedBy ? 0 : Math.min(...Object.values(decision.remaining));
}
