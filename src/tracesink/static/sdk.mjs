// tracesink SDK for Cloudflare Workers, Convex actions and Node >= 18: a dependency-free ES module.
//
//   import { createLogger, traceIdFrom, tracedFetch } from "https://logs.example.com/sdk.mjs";
//   const log = createLogger({ endpoint: "https://logs.example.com", system: "worker",
//                              traceId: traceIdFrom(request) });
//   log.info("charging", { orderId });
//   ctx.waitUntil(log.flush());           // Workers: deliver after the response is sent
//
// Entries are queued and sent in batches to POST /logs. Nothing here throws into the caller or
// rejects a promise: what cannot be delivered is counted as dropped, by reason, and reported
// in-band (an entry in the next batch that gets through). The policy every tracesink client
// follows (docs/http-api.md, "Refused entries"): entries refused by a limit (a 429, or items of
// a 200 marked retryable) are dropped as rate_limited and never resent, since the server already
// marks the gap in the trace, nor reported again; after a 429 sending pauses for Retry-After
// (capped by maxPauseMs).

const LEVELS = ["log", "info", "warn", "error"];
const noDrops = () => ({ queue_full: 0, rate_limited: 0, refused: 0, undeliverable: 0 });
const TRACE_ID = /^[A-Za-z0-9._:-]{1,128}$/;
const TRACEPARENT = /^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}(-.*)?$/;

function randomHex(bytes) {
  const data = new Uint8Array(bytes);
  globalThis.crypto.getRandomValues(data);
  return Array.from(data, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** A new trace id: 32 lowercase hex digits, so it also fits a W3C traceparent. */
export function newTraceId() {
  try {
    return randomHex(16);
  } catch {
    return (Date.now().toString(16) + Math.random().toString(16).slice(2)).slice(0, 32);
  }
}

function headerOf(source, name) {
  try {
    if (!source) return undefined;
    const headers = source.headers !== undefined ? source.headers : source;
    if (typeof headers.get === "function") return headers.get(name) ?? undefined;
    for (const key of Object.keys(headers)) {
      if (key.toLowerCase() === name) return headers[key] ?? undefined;
    }
  } catch {
    // a header source we cannot read carries no trace
  }
  return undefined;
}

/** The trace id an incoming Request (or Headers, or a plain object) carries: X-Trace-Id, else the
 * trace id of a W3C traceparent; undefined when neither is there or valid. */
export function traceIdFrom(source) {
  const given = headerOf(source, "x-trace-id");
  if (typeof given === "string" && TRACE_ID.test(given.trim())) return given.trim();
  const parent = headerOf(source, "traceparent");
  if (typeof parent === "string") {
    const found = TRACEPARENT.exec(parent.trim());
    if (found && !/^0+$/.test(found[1])) return found[1];
  }
  return undefined;
}

/** Headers that carry `traceId` on: X-Trace-Id always, and a traceparent when the id is 32 hex
 * digits (a W3C trace id), with a new parent id. */
export function traceHeaders(traceId) {
  if (typeof traceId !== "string" || !TRACE_ID.test(traceId)) return {};
  const headers = { "X-Trace-Id": traceId };
  if (/^[0-9a-f]{32}$/.test(traceId) && !/^0+$/.test(traceId)) {
    headers.traceparent = `00-${traceId}-${randomHex(8)}-01`;
  }
  return headers;
}

/** A fetch that adds the trace headers to every call (headers the caller set win). */
export function tracedFetch(traceId, fetchImpl = globalThis.fetch) {
  return (input, init = {}) => {
    let headers;
    try {
      headers = new Headers(init.headers ?? (input instanceof Request ? input.headers : undefined));
      for (const [name, value] of Object.entries(traceHeaders(traceId))) {
        if (!headers.has(name)) headers.set(name, value);
      }
    } catch {
      return fetchImpl(input, init);
    }
    return fetchImpl(input, { ...init, headers });
  };
}

function batchUrl(endpoint) {
  const base = String(endpoint).replace(/\/+$/, "").replace(/\/logs?$/, "");
  return `${base}/logs`;
}

/** [context with each Error (itself, or a top-level field) as "Name: message", the first
 * Error's stack]. */
function errorsAsText(context) {
  const text = (e) => `${e.name || "Error"}: ${e.message}`;
  const stackOf = (e) => (typeof e.stack === "string" ? e.stack : undefined);
  if (context instanceof Error) return [{ error: text(context) }, stackOf(context)];
  if (context === null || typeof context !== "object" || Array.isArray(context)) {
    return [context, undefined];
  }
  let stack;
  let fields = context;
  for (const [name, value] of Object.entries(context)) {
    if (!(value instanceof Error)) continue;
    if (fields === context) fields = { ...context };
    fields[name] = text(value);
    stack = stack ?? stackOf(value);
  }
  return [fields, stack];
}

function safeContext(context) {
  if (context === undefined || context === null) return undefined;
  try {
    if (typeof context !== "object" || Array.isArray(context)) return { value: context };
    JSON.stringify(context);
    return context;
  } catch (err) {
    return { unserializable: String(err && err.message ? err.message : err) };
  }
}

// Retry-After as delta-seconds or an HTTP-date; a past date is 0, absent or unreadable 1 s.
function retryAfterMs(response) {
  const raw = response.headers.get("retry-after");
  const seconds = Number(raw);
  if (raw !== null && !Number.isNaN(seconds)) return Math.max(0, seconds * 1000);
  const date = raw === null ? NaN : Date.parse(raw);
  return Number.isFinite(date) ? Math.max(0, date - Date.now()) : 1000;
}

class Sender {
  constructor(options) {
    this.url = batchUrl(options.endpoint);
    this.system = options.system;
    this.release = typeof options.release === "string" && options.release ? options.release : undefined;
    this.key = options.key;
    this.fetch = options.fetch ?? globalThis.fetch;
    this.batchSize = Math.max(1, options.batchSize ?? 20);
    this.maxQueue = Math.max(1, options.maxQueue ?? 1000);
    this.flushIntervalMs = options.flushIntervalMs ?? 1000;
    this.timeoutMs = options.timeoutMs ?? 5000;
    this.maxRetries = options.maxRetries ?? 2;
    this.maxPauseMs = options.maxPauseMs ?? 60_000;
    this.onError = options.onError;
    this.queue = [];
    this.droppedBy = noDrops(); // every drop so far
    this.unreported = {}; // what the next in-band report tells (never rate_limited)
    this.sent = 0;
    this.pausedUntil = 0;
    this.timer = undefined;
    this.running = undefined;
  }

  report(error) {
    try {
      if (typeof this.onError === "function") this.onError(error);
    } catch {
      // the caller's error hook may not throw into the caller either
    }
  }

  drop(reason, n = 1) {
    this.droppedBy[reason] += n;
    if (reason !== "rate_limited") this.unreported[reason] = (this.unreported[reason] ?? 0) + n;
  }

  restore(counts) {
    for (const [why, n] of Object.entries(counts)) this.unreported[why] = (this.unreported[why] ?? 0) + n;
  }

  enqueue(entry) {
    if (this.queue.length >= this.maxQueue) {
      this.drop("queue_full");
      return;
    }
    this.queue.push(entry);
    if (this.queue.length >= this.batchSize) this.kick();
    else this.schedule();
  }

  schedule() {
    if (this.timer !== undefined || this.flushIntervalMs <= 0) return;
    try {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.kick();
      }, this.flushIntervalMs);
      if (this.timer && typeof this.timer.unref === "function") this.timer.unref();
    } catch {
      this.timer = undefined; // a runtime without timers here: flush() still delivers
    }
  }

  kick() {
    if (this.running === undefined) {
      this.running = this.drain().finally(() => {
        this.running = undefined;
      });
    }
    return this.running;
  }

  droppedReport(traceId) {
    const counts = this.unreported;
    const total = Object.values(counts).reduce((a, b) => a + b, 0);
    if (total === 0) return undefined;
    this.unreported = {};
    const detail = Object.entries(counts).map(([why, n]) => `${n} ${why}`).join(", ");
    return {
      counts,
      entry: {
        trace_id: traceId,
        level: "warn",
        message: `tracesink sdk dropped ${total} entries (${detail})`,
        timestamp: Date.now(),
        context: { tracesink_dropped: counts },
      },
    };
  }

  async drain() {
    while (this.queue.length > 0 && Date.now() >= this.pausedUntil) {
      const batch = this.queue.splice(0, this.batchSize);
      const report = this.droppedReport(batch[0].trace_id);
      const answer = await this.post(report ? [...batch, report.entry] : batch);
      if (answer.outcome !== "ok") {
        if (report) this.restore(report.counts);
        this.drop(answer.outcome, batch.length);
        continue;
      }
      let stored = batch.length; // but for what the server refused inside its 200
      for (const item of answer.rejected) {
        if (report && item.index === batch.length) {
          this.restore(report.counts); // the report itself: the next batch carries it
          continue;
        }
        stored -= 1;
        this.drop(item.retryable === true ? "rate_limited" : "refused");
      }
      this.sent += stored;
    }
    if (this.queue.length > 0 && this.timer === undefined) this.schedule();
  }

  async post(entries) {
    const headers = { "content-type": "application/json" };
    if (this.system) headers["X-Log-System"] = this.system;
    if (this.key) headers["X-Tracesink-Key"] = this.key;
    const body = JSON.stringify(entries);
    for (let attempt = 0; attempt <= this.maxRetries; attempt += 1) {
      let response;
      try {
        // Stamped per attempt: this sender's clock as the request leaves, so the service can
        // correct for a clock that is off (X-Client-Clock, docs/http-api.md).
        const init = { method: "POST", headers: { ...headers, "X-Client-Clock": String(Date.now()) }, body };
        if (typeof AbortSignal !== "undefined" && typeof AbortSignal.timeout === "function") {
          init.signal = AbortSignal.timeout(this.timeoutMs);
        }
        const fetchImpl = this.fetch; // called unbound: workerd refuses fetch with another `this`
        response = await fetchImpl(this.url, init);
      } catch (error) {
        this.report(error);
        if (attempt < this.maxRetries) await sleep(100 * 2 ** attempt);
        continue;
      }
      let answer;
      try {
        answer = JSON.parse(await response.text()); // also frees the connection
      } catch {
        // the status says enough
      }
      if (response.ok) {
        const rejected = answer && Array.isArray(answer.rejected) ? answer.rejected : [];
        return { outcome: "ok", rejected: rejected.filter((item) => item && typeof item === "object") };
      }
      if (response.status === 429) {
        this.pausedUntil = Date.now() + Math.min(retryAfterMs(response), this.maxPauseMs);
        return { outcome: "rate_limited" };
      }
      if (response.status >= 500 || response.status === 408) {
        this.report(new Error(`tracesink answered ${response.status}`));
        if (attempt < this.maxRetries) {
          await sleep(Math.min(retryAfterMs(response), 100 * 2 ** attempt, this.maxPauseMs));
        }
        continue;
      }
      this.report(new Error(`tracesink refused the batch: ${response.status}`));
      return { outcome: "refused" }; // 4xx: resending the same batch cannot help
    }
    return { outcome: "undeliverable" };
  }

  result() {
    const dropped = Object.values(this.droppedBy).reduce((a, b) => a + b, 0);
    const { sent, pausedUntil } = this;
    return { sent, pending: this.queue.length, dropped, droppedBy: { ...this.droppedBy }, pausedUntil };
  }

  async flush() {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.running !== undefined) await this.running;
    if (this.queue.length > 0) await this.kick();
    return this.result();
  }
}

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

class Logger {
  constructor(sender, traceId) {
    this.sender = sender;
    this.traceId = traceId;
  }

  write(level, message, context) {
    try {
      let stack;
      let text = message;
      if (message instanceof Error) {
        text = message.message || String(message);
        stack = typeof message.stack === "string" ? message.stack : undefined;
      } else if (typeof message !== "string") {
        try {
          text = JSON.stringify(message) ?? String(message);
        } catch {
          text = String(message);
        }
      }
      // log.error("charge failed", err) and log.error("charge failed", { err }): the Error
      // goes as the stack (unless the message was one) and its name and message as context;
      // as plain JSON an Error is {} and everything that explains it would be lost.
      const [fields, errorStack] = errorsAsText(context);
      stack = stack ?? errorStack;
      const entry = { trace_id: this.traceId, level, message: text, timestamp: Date.now() };
      const safe = safeContext(fields);
      if (safe !== undefined) entry.context = safe;
      if (stack !== undefined) entry.stack = stack;
      if (this.sender.release !== undefined) entry.release = this.sender.release;
      this.sender.enqueue(entry);
    } catch (error) {
      this.sender.report(error);
    }
  }

  log(message, context) {
    this.write("log", message, context);
  }

  info(message, context) {
    this.write("info", message, context);
  }

  warn(message, context) {
    this.write("warn", message, context);
  }

  error(message, context) {
    this.write("error", message, context);
  }

  /** A logger for another trace that shares this one's queue (one flush delivers both). */
  withTrace(traceId) {
    const valid = typeof traceId === "string" && TRACE_ID.test(traceId);
    return new Logger(this.sender, valid ? traceId : newTraceId());
  }

  /** Headers for an outgoing call that carries this logger's trace on. */
  traceHeaders() {
    return traceHeaders(this.traceId);
  }

  /** A fetch that adds this logger's trace headers to every call. */
  fetch(input, init) {
    return tracedFetch(this.traceId, this.sender.fetch)(input, init);
  }

  /** Deliver what is queued; resolves (never rejects) with what the server stored, what is
   * pending (paused by a 429) and what was dropped, by reason. Workers:
   * `ctx.waitUntil(log.flush())`. */
  async flush() {
    try {
      return await this.sender.flush();
    } catch (error) {
      this.sender.report(error);
      return this.sender.result();
    }
  }
}

/** A logger that batches entries to `${endpoint}/logs`. */
export function createLogger(options = {}) {
  const given = options.traceId;
  const traceId = typeof given === "string" && TRACE_ID.test(given) ? given : newTraceId();
  const sender = new Sender({ ...options, endpoint: options.endpoint ?? "http://127.0.0.1:8787" });
  return new Logger(sender, traceId);
}

export { LEVELS };
