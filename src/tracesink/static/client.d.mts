// Types of the tracesink browser client: client.mjs (ES module) and window.TraceSink (client.js).

/** One log entry as the client sends it to POST /logs. */
export interface TraceSinkEntry {
  trace_id: string;
  level: "log" | "info" | "warn" | "error" | "debug";
  message: string;
  system: string;
  /** milliseconds since the epoch, taken in the browser */
  timestamp: number;
  stack?: string;
  user_id?: string | number;
  /** the build that sent it (options.release) */
  release?: string;
  context?: Record<string, unknown>;
}

export interface TraceSinkOptions {
  /** tracesink's base URL; default: where client.js was loaded from, else http://localhost:8787 */
  endpoint?: string;
  /** a public ingest key (TRACESINK_INGEST_KEYS), sent as ?key= */
  key?: string | null;
  /** the trace; default: <meta name="tracesink-trace-id">, else 32 random hex digits */
  traceId?: string;
  /** the system entries are stored under; default "browser" */
  system?: string;
  userId?: string | number;
  /** the build (e.g. a git sha), sent with every entry: picks its source maps; default:
   * data-release, else a global TRACESINK_RELEASE set before the client starts */
  release?: string;
  /** origins whose fetch/XHR calls get X-Trace-Id; "*" for all; default: the page's own */
  propagate?: string[] | string;
  /** also send a W3C traceparent header (when the trace id is 32 hex digits); default false */
  traceparent?: boolean;
  /** capture console output; default true */
  console?: boolean;
  /** the console methods captured; default log, info, warn, error, debug */
  levels?: Array<"log" | "info" | "warn" | "error" | "debug"> | string;
  /** capture uncaught errors and unhandled rejections; default true */
  errors?: boolean;
  /** ms between flushes; default 1000 */
  flushInterval?: number;
  /** entries per request; default 50 */
  maxBatch?: number;
  /** bytes per request; default 49152 (48 KiB) */
  maxBytes?: number;
  /** entries held while the server cannot take them; default 1000 */
  maxQueue?: number;
  /** longest wait between retries after errors, ms; default 30000 */
  maxBackoff?: number;
  /** longest pause a 429's Retry-After imposes, ms; default 60000 */
  maxPause?: number;
  /** identical messages within this many ms become one "(repeated N×)"; default 2000 */
  dedupeWindow?: number;
  /** entries per minute this page may send; default 600 */
  maxPerMinute?: number;
  /** messages matching any of these are not sent; default: dev-server and DevTools noise */
  ignore?: RegExp | string | Array<RegExp | string>;
  /** replace bearer tokens, JWTs and password/token/secret fields; default true */
  redact?: boolean;
  /** redact, rewrite or drop (return null) an entry before it is queued */
  beforeSend?: (entry: TraceSinkEntry) => TraceSinkEntry | null | undefined | false;
}

/** Why entries were dropped: the reasons every tracesink client uses (docs/http-api.md), and
 * client_cap, over maxPerMinute. */
export type TraceSinkDropReason =
  | "queue_full" | "rate_limited" | "refused" | "undeliverable" | "client_cap";

export interface TraceSinkStats {
  queued: number;
  /** entries the server stored (at page exit: handed to the browser to send) */
  sent: number;
  /** entries dropped, the sum of droppedBy */
  dropped: number;
  droppedBy: Partial<Record<TraceSinkDropReason, number>>;
  requests: number;
  pausedUntil: number;
  batchLimit: number;
  stopped: string | null;
}

export interface TraceSinkClient {
  /** the page's trace id; null before init() and on a server */
  readonly traceId: string | null;
  init(options?: TraceSinkOptions): TraceSinkClient;
  flush(): Promise<void>;
  stats(): TraceSinkStats | Record<string, never>;
}

export function init(options?: TraceSinkOptions): TraceSinkClient;
export function getTraceId(): string | null;
export function flush(): Promise<void>;
declare const sink: TraceSinkClient;
export default sink;

declare global {
  // set by client.js (a <script> tag) and by importing client.mjs
  var TraceSink: TraceSinkClient;
}
