// Types for sdk.mjs: the tracesink SDK for Cloudflare Workers, Convex actions and Node >= 18.

export type Level = "log" | "info" | "warn" | "error";

export declare const LEVELS: readonly Level[];

/** Something that carries request headers: a Request, a Headers, or a plain object. */
export type HeaderSource =
  | { headers: Headers | Record<string, string | undefined> }
  | Headers
  | Record<string, string | undefined>;

export interface LoggerOptions {
  /** The tracesink service, e.g. "https://logs.example.com" (a trailing /logs or /log is fine). */
  endpoint?: string;
  /** Sent as X-Log-System ("worker", "convex", …); omitted: the server detects it. */
  system?: string;
  /** The trace every entry joins; omitted or invalid: a new 32-hex trace id. */
  traceId?: string;
  /** The build sending (e.g. a git sha): sent with every entry, it picks the source maps that
   * make its stacks readable (`tracesink sourcemaps upload DIR --release R`). */
  release?: string;
  /** A public ingest key, sent as X-Tracesink-Key (when the service sets TRACESINK_INGEST_KEYS). */
  key?: string;
  /** Entries per POST /logs (default 20); a full batch is sent at once. */
  batchSize?: number;
  /** Most entries waiting to be sent (default 1000); beyond, entries are dropped and counted. */
  maxQueue?: number;
  /** Send what is queued this long after the first entry (default 1000 ms; 0: only on flush). */
  flushIntervalMs?: number;
  /** Per request (default 5000 ms). */
  timeoutMs?: number;
  /** Retries of a batch after a network error or a 5xx (default 2). */
  maxRetries?: number;
  /** The longest pause a 429's Retry-After imposes (default 60000 ms). */
  maxPauseMs?: number;
  /** The fetch to send with (default globalThis.fetch). */
  fetch?: typeof fetch;
  /** Told about delivery problems; never required, never allowed to throw into the caller. */
  onError?: (error: unknown) => void;
}

/** Why an entry was dropped (the same reasons in every tracesink client; docs/http-api.md). */
export type DropReason = "queue_full" | "rate_limited" | "refused" | "undeliverable";

export interface FlushResult {
  /** Entries the server stored, from this logger's queue, so far. */
  sent: number;
  /** Entries still queued (sending paused by a 429). */
  pending: number;
  /** Entries dropped so far: the sum of droppedBy. */
  dropped: number;
  /** Entries dropped so far, by reason: the queue was full; refused by a limit (never resent);
   * refused as invalid; not delivered after the retries (network errors, 5xx). */
  droppedBy: Record<DropReason, number>;
  /** Until when (ms since the epoch) a 429 paused sending; 0 before any 429. */
  pausedUntil: number;
}

export interface Logger {
  readonly traceId: string;
  log(message: unknown, context?: Record<string, unknown> | Error): void;
  info(message: unknown, context?: Record<string, unknown> | Error): void;
  warn(message: unknown, context?: Record<string, unknown> | Error): void;
  /** An Error's message is the message and its stack the entry's stack. An Error as the
   * context (`error("charge failed", err)`), or as one of its fields (`{ err }`), gives the
   * entry its stack (unless the message was an Error) and appears as "Name: message". */
  error(message: unknown, context?: Record<string, unknown> | Error): void;
  /** A logger for another trace sharing this one's queue. */
  withTrace(traceId: string): Logger;
  /** X-Trace-Id (and traceparent for a 32-hex id) for an outgoing call. */
  traceHeaders(): Record<string, string>;
  /** fetch with this logger's trace headers added. */
  fetch(input: RequestInfo | URL, init?: RequestInit): Promise<Response>;
  /** Deliver what is queued; never rejects. Workers: ctx.waitUntil(log.flush()). */
  flush(): Promise<FlushResult>;
}

export declare function createLogger(options?: LoggerOptions): Logger;
export declare function newTraceId(): string;
export declare function traceIdFrom(source: HeaderSource | null | undefined): string | undefined;
export declare function traceHeaders(traceId: string | undefined): Record<string, string>;
export declare function tracedFetch(
  traceId: string | undefined,
  fetchImpl?: typeof fetch,
): (input: RequestInfo | URL, init?: RequestInit) => Promise<Response>;
