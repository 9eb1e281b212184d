// The store: write_batch.lua over Upstash's REST API, one EVALSHA per request.
//
// The script is src/tracesink/store/lua/write_batch.lua with the lib/ fragments it includes
// written in: the very text (and SHA-1) the Python stores send, generated into write_batch.js by
// `python -m tracesink.edge_script`: one source of truth, so the limits an edge Worker and a
// Python service enforce on one database are the same, exactly. KEYS and ARGV are laid out as
// tracesink/store/scripts.py lays them out (write_batch_call), and the reply is read as
// scripts.batch_reply reads it.

import { WRITE_BATCH } from "./write_batch.js";
import { DAY_MS, DailyBudget } from "./budget.js";
import { LIMIT_LEVELS, windowOf } from "./limits.js";
import { RefusalMemory } from "./refusals.js";
import { RULES } from "./rules.js";

// The key layout of src/tracesink/store/keys.py (docs/keys.md): {prefix}{kind}{tag}{tail}, the
// variable part in literal braces (the Redis Cluster hash tag), so no two prefixes share a key.
// The kinds and the shared tag are src/tracesink/rules.json's, the Python stores' own.
const { kinds: KINDS, shared_tag: SHARED } = RULES.keys;
const SHARED_TAG = `{${SHARED}}`;
const traceKey = (prefix, traceId) => `${prefix}${KINDS.trace}{${traceId}}`;
const traceLead = (prefix) => `${prefix}${KINDS.trace}{`; // a list key's text before its trace id
const countersKey = (prefix, index) => `${prefix}${KINDS.counters}${SHARED_TAG}:${index}`;
const dayKey = (prefix, day) => `${prefix}${KINDS.day}${SHARED_TAG}:${day}`;
const LIMITED_BY = [null, "global", "system", "trace"]; // by the script's per-entry code
const REPLY_WIDTH = 5; // code, remaining global, remaining system, remaining trace, retry_after_ms
const COMMAND_TIMEOUT_MS = 5000;
const FLUSH_STALE_MS = 20_000;

export class StorageError extends Error {}

let scriptSha = null;
async function sha1Hex(text) {
  const digest = await crypto.subtle.digest("SHA-1", new TextEncoder().encode(text));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

export function newBatchId() {
  return crypto.randomUUID().replaceAll("-", "");
}

// KEYS and ARGV as the header of write_batch.lua lists them (scripts.write_batch_call).
export function writeBatchCall(policy, entries, nowMs, batchId, runs = [], uncounted = 0) {
  const [index, elapsed] = windowOf(nowMs, policy.windowMs);
  const day = Math.floor(nowMs / DAY_MS);
  const traces = [...new Set([...runs.map(([t]) => t), ...entries.map((e) => e.traceId)])];
  const keyIndex = new Map(traces.map((t, i) => [t, 4 + i])); // Lua counts from 1
  const prefix = policy.keyPrefix;
  const keys = [
    countersKey(prefix, index),
    countersKey(prefix, index - 1),
    dayKey(prefix, day),
    ...traces.map((t) => traceKey(prefix, t)),
  ];
  const args = [nowMs, elapsed, policy.windowMs, policy.ttlMs, policy.slackMs];
  args.push(policy.globalLimit, policy.traceLimit, traceLead(prefix));
  // The day whose commands to count (-1: no shared budget), and those spent since the last count.
  args.push(policy.sharedBudget ? day : -1, uncounted, policy.maxTraceEntries);
  args.push(policy.systemLimits.size);
  for (const [system, limit] of policy.systemLimits) args.push(system, limit);
  args.push(batchId, runs.length);
  for (const [traceId, run] of runs) {
    args.push(keyIndex.get(traceId), ...LIMIT_LEVELS.map((l) => run.by[l]), run.firstMs, run.lastMs);
  }
  for (const entry of entries) args.push(keyIndex.get(entry.traceId), entry.system, entry.payload);
  return { keys, args: args.map(String) };
}

function asInt(value) {
  if (typeof value === "number" && Number.isInteger(value)) return value;
  if (typeof value === "string" && /^-?\d+$/.test(value)) return Number(value);
  throw new StorageError(`write_batch.lua answered ${typeof value} where a number belongs`);
}

// write_batch.lua's reply, checked, for a call of `count` entries (scripts.batch_reply).
export function batchReply(reply, count) {
  if (!Array.isArray(reply) || reply.length < 4) {
    throw new StorageError("write_batch.lua answered something other than its reply list");
  }
  const nFields = asInt(reply[3]);
  let at = 4 + 3 * nFields;
  const nWritten = reply.length > at ? asInt(reply[at]) : -1;
  const written = reply.slice(at + 1, at + 1 + nWritten).map(asInt);
  at += 1 + nWritten;
  if (nWritten < 0 || reply.length !== at + REPLY_WIDTH * count) {
    throw new StorageError("write_batch.lua answered a reply of the wrong length");
  }
  const counts = [];
  for (let i = 4; i < 4 + 3 * nFields; i += 3) {
    counts.push([String(reply[i]), asInt(reply[i + 1]), asInt(reply[i + 2])]);
  }
  const decisions = [];
  for (let start = at; start < at + REPLY_WIDTH * count; start += REPLY_WIDTH) {
    const [code, leftGlobal, leftSystem, leftTrace, wait] = reply.slice(start, start + REPLY_WIDTH).map(asInt);
    const remaining = { global: leftGlobal };
    if (leftSystem >= 0) remaining.system = leftSystem;
    remaining.trace = leftTrace;
    decisions.push({ limitedBy: LIMITED_BY[code], remaining, retryAfterMs: wait });
  }
  const [calls, unmarked, dayCommands] = reply.slice(0, 3).map(asInt);
  return { calls, unmarked, dayCommands, counts, written, decisions };
}

class CommandError extends StorageError {}

export class UpstashStore {
  constructor(endpoint, policy, maxCommandsPerDay = 0, readReservePct = 0) {
    this.endpoint = endpoint;
    this.policy = policy;
    // Commands this isolate sent; the shared day count as the last counted call left it, and
    // this.commands at that moment (scripts.py's Usage.shared_*).
    this.commands = 0;
    this.shared = { day: -1, count: 0, mark: 0 };
    this.budget = new DailyBudget(maxCommandsPerDay, this, readReservePct);
    this.refusals = new RefusalMemory(policy);
    this.flying = new Map(); // trace id -> calls in flight holding it
    this.flushingSince = null; // when the running drop flush started (one at a time)
  }

  async command(command) {
    let response;
    try {
      response = await fetch(this.endpoint.url, {
        method: "POST",
        headers: { authorization: `Bearer ${this.endpoint.token}`, "content-type": "application/json" },
        body: JSON.stringify(command),
        signal: AbortSignal.timeout(COMMAND_TIMEOUT_MS),
      });
    } catch (error) {
      throw new StorageError(`the store did not answer: ${error.message}`);
    }
    let body;
    try {
      body = await response.json();
    } catch {
      throw new StorageError(`the store answered ${response.status} without JSON`);
    }
    if (body && typeof body.error === "string") {
      if (response.status === 400) throw new CommandError(body.error);
      throw new StorageError(`the store answered ${response.status}: ${body.error}`);
    }
    if (!response.ok || !body || !("result" in body)) {
      throw new StorageError(`the store answered ${response.status}`);
    }
    return body.result;
  }

  async run(call) {
    scriptSha ??= await sha1Hex(WRITE_BATCH);
    const evalsha = ["EVALSHA", scriptSha, String(call.keys.length), ...call.keys, ...call.args];
    let reply;
    try {
      reply = await this.command(evalsha);
    } catch (error) {
      if (!(error instanceof CommandError) || !error.message.startsWith("NOSCRIPT")) throw error;
      // A flushed, restarted or new database: the refused EVALSHA ran nothing, so loading the
      // script and sending it again cannot store anything twice. Its counters may be gone too.
      this.refusals.forget();
      this.commands += 2; // the refused EVALSHA and the SCRIPT LOAD
      const loaded = await this.command(["SCRIPT", "LOAD", WRITE_BATCH]);
      if (loaded !== scriptSha) throw new StorageError("SCRIPT LOAD answered another sha");
      reply = await this.command(evalsha);
    }
    if (!Array.isArray(reply) || typeof reply[0] !== "number") {
      throw new StorageError("the script answered something other than its reply list");
    }
    this.commands += 1 + reply[0];
    return reply;
  }

  // One script call for `entries` (and the held drop runs of their traces); decisions in order.
  // Every ingester's commands of UTC `day` as far as known; null when no call counted them today.
  commandsToday(day) {
    if (day !== this.shared.day) return null;
    return this.shared.count + this.commands - this.shared.mark;
  }

  async write(entries, nowMs) {
    const spent = this.budget.refusals(entries.length, nowMs);
    if (spent !== null) return spent;
    const local = this.refusals.decide(entries.map((e) => [e.traceId, e.system]), nowMs);
    if (local !== null) {
      // Held for the trace's marker; a trace without a list gets none (no key for a refusal).
      entries.forEach((entry, i) => this.refusals.hold(entry.traceId, local[i].limitedBy, nowMs));
      return local;
    }
    const traces = entries.map((e) => e.traceId);
    const runs = this.refusals.take(traces, nowMs, this.flying);
    return this.#write(entries, nowMs, runs);
  }

  async #write(entries, nowMs, runs) {
    const traces = [...new Set([...entries.map((e) => e.traceId), ...runs.map(([t]) => t)])];
    for (const t of traces) this.flying.set(t, (this.flying.get(t) ?? 0) + 1);
    const uncounted = this.commands - this.shared.mark;
    const call = writeBatchCall(this.policy, entries, nowMs, newBatchId(), runs, uncounted);
    const before = this.commands;
    let reply;
    try {
      reply = batchReply(await this.run(call), entries.length);
    } catch (error) {
      // Written at least once: a call whose reply was lost may have written them already.
      this.refusals.giveBack(runs);
      throw error;
    } finally {
      for (const t of traces) {
        const n = this.flying.get(t) - 1;
        if (n > 0) this.flying.set(t, n);
        else this.flying.delete(t);
      }
    }
    if (reply.dayCommands >= 0) {
      // Counted: everything up to this call's own commands (not a NOSCRIPT's reload).
      this.shared = { day: Math.floor(nowMs / DAY_MS), count: reply.dayCommands, mark: before + 1 + reply.calls };
    }
    const lead = traceLead(this.policy.keyPrefix).length;
    for (const k of reply.written) this.refusals.wrote(call.keys[k - 1].slice(lead, -1), nowMs);
    if (entries.length) this.refusals.learn(nowMs, reply.counts);
    return reply.decisions;
  }

  get holdsDrops() {
    return this.refusals.pending.size > 0;
  }

  // While drops are held: write each within the flush delay of its first refusal. Run under
  // ctx.waitUntil, so the isolate stays to finish it after the response has gone; one at a time.
  async flushWhenDue(now = Date.now) {
    // A flush cut off by the platform (waitUntil has a time limit) never reaches its `finally`:
    // after FLUSH_STALE_MS another request's flush takes over.
    if (this.flushingSince !== null && now() - this.flushingSince < FLUSH_STALE_MS) return;
    const started = now();
    this.flushingSince = started;
    try {
      let oldest;
      while ((oldest = this.refusals.oldestMs()) !== null) {
        const waitMs = oldest + this.refusals.flushDelayMs - now();
        if (waitMs > 0) {
          await new Promise((resolve) => setTimeout(resolve, waitMs));
          continue;
        }
        const nowMs = now();
        const runs = this.refusals.take([], nowMs, this.flying);
        if (!runs.length) {
          await new Promise((resolve) => setTimeout(resolve, this.refusals.flushDelayMs));
          continue;
        }
        try {
          await this.#write([], nowMs, runs);
        } catch {
          return; // kept (given back) for the next request's flush: markers never cause an outage
        }
      }
    } finally {
      if (this.flushingSince === started) this.flushingSince = null;
    }
  }
}
