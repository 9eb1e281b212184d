// Answers as the Python service gives them: JSON bodies, RateLimit headers, CORS headers
// (ports of app/http.py, app/ratelimit_headers.py and app/cors.py).

const ALLOWED_METHODS = "GET, HEAD, POST, OPTIONS";
const ALLOWED_HEADERS =
  "Content-Type, X-Log-System, X-Tracesink-Key, X-Trace-Id, traceparent, Authorization, " +
  "Last-Event-ID, X-Client-Clock";
const EXPOSED_HEADERS = "RateLimit, RateLimit-Policy, Retry-After";
const PREFLIGHT_MAX_AGE = "600";
const MAX_ORIGIN_CHARS = 256;
const ORIGIN = /^(?:null|[A-Za-z][A-Za-z0-9+.-]*:\/\/[^\s/?#@]+)$/;

export function jsonResponse(status, content, headers = []) {
  const response = new Response(JSON.stringify(content), { status });
  response.headers.set("content-type", "application/json");
  for (const [name, value] of headers) response.headers.append(name, value);
  return response;
}

export function errorResponse(status, message, field = null, headers = []) {
  const content = { success: false, error: message };
  if (field !== null) content.field = field;
  return jsonResponse(status, content, headers);
}

export function retryAfterS(decision) {
  return Math.max(1, Math.ceil(decision.retryAfterMs / 1000));
}

// RateLimit-Policy / RateLimit (IETF httpapi draft): one named policy per level.
export function rateLimitHeaders(policy, system, decision, decidedMs) {
  const quotas = [["global", policy.globalLimit]];
  if (policy.systemLimits.has(system)) quotas.push(["system", policy.systemLimits.get(system)]);
  quotas.push(["trace", policy.traceLimit]);
  const windowS = Math.floor(policy.windowMs / 1000);
  const elapsedMs = decidedMs % policy.windowMs;
  const rolloverS = Math.ceil((policy.windowMs - elapsedMs) / 1000);
  const limitedBy = decision.limitedBy;
  const waitS = limitedBy !== null ? retryAfterS(decision) : 0;
  const headers = [
    ["ratelimit-policy", quotas.map(([n, q]) => `"${n}";q=${q};w=${windowS}`).join(", ")],
    [
      "ratelimit",
      quotas
        .map(([n]) => `"${n}";r=${decision.remaining[n] ?? 0};t=${n === limitedBy ? waitS : rolloverS}`)
        .join(", "),
    ],
  ];
  if (limitedBy !== null) headers.push(["retry-after", String(waitS)]);
  return headers;
}

export function validOrigin(origin) {
  return origin.length <= MAX_ORIGIN_CHARS && ORIGIN.test(origin);
}

// Who may send logs from a browser: TRACESINK_CORS_ORIGINS and the ingest keys' origins
// (`*`: any). The Worker is never on loopback, so with neither set no browser origin may.
export class CorsPolicy {
  constructor(corsOrigins, ingestKeys) {
    this.ingest = new Set([...corsOrigins, ...ingestKeys.flatMap((k) => k.origins)]);
  }

  allows(origin) {
    return this.ingest.has("*") || this.ingest.has(origin.replace(/\/+$/, ""));
  }

  headers(origin) {
    return [
      ["access-control-allow-origin", origin],
      ["access-control-expose-headers", EXPOSED_HEADERS],
      ["vary", "Origin"],
    ];
  }

  preflightHeaders(origin) {
    return [
      ["access-control-allow-origin", origin],
      ["access-control-allow-methods", ALLOWED_METHODS],
      ["access-control-allow-headers", ALLOWED_HEADERS],
      ["access-control-max-age", PREFLIGHT_MAX_AGE],
      ["vary", "Origin"],
    ];
  }
}
