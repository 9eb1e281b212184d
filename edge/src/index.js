// tracesink's ingestion as a Cloudflare Worker: POST /log and POST /logs, with the Python
// service's validation, detection, answers, headers, CORS, ingest keys and key layout, stored in
// Upstash Redis by the Python stores' own Lua script (store.js). Reading stays with the Python
// service (GET /logs/{trace_id}, the viewer, the CLI), which reads what this writes like its own.

import { AccessDenied, ValidationError } from "./errors.js";
import { CorsPolicy, errorResponse, validOrigin } from "./http.js";
import { postLog, postLogs } from "./ingest.js";
import { message } from "./messages.js";
import { settingsOf } from "./settings.js";
import { StorageError, UpstashStore } from "./store.js";

const ROUTES = { "/log": postLog, "/logs": postLogs };
const INGEST_KEY_HEADER = "x-tracesink-key";

// Per isolate: the store (with its refusal memory) and the CORS policy, for the settings in use.
const isolate = new WeakMap();

function partsOf(settings) {
  let parts = isolate.get(settings);
  if (parts === undefined) {
    parts = {
      store: new UpstashStore(
        settings.store,
        settings.policy,
        settings.maxCommandsPerDay,
        settings.readReservePct,
      ),
      cors: new CorsPolicy(settings.corsOrigins, settings.ingestKeys),
    };
    isolate.set(settings, parts);
  }
  return parts;
}

function timingSafeEqual(a, b) {
  const x = new TextEncoder().encode(a);
  const y = new TextEncoder().encode(b);
  let diff = x.length ^ y.length;
  for (let i = 0; i < y.length; i += 1) diff |= (x[i % (x.length || 1)] ?? 0) ^ y[i];
  return diff === 0;
}

// The ingest key's pinned system (or null); AccessDenied when keys are configured and this
// request's is missing, wrong, or used from an origin the key is not for (app/auth.py).
function checkIngestKey(request, url, keys) {
  if (!keys.length) return null;
  // sendBeacon cannot set headers, so the key may also come as ?key=.
  const given = request.headers.get(INGEST_KEY_HEADER) || url.searchParams.get("key") || "";
  const found = keys.find((k) => timingSafeEqual(given, k.key));
  if (found === undefined) {
    throw new AccessDenied(message("ingest_key_missing"), "key");
  }
  const origin = request.headers.get("origin");
  if (origin !== null && !found.origins.includes("*") && !found.origins.includes(origin.replace(/\/+$/, ""))) {
    throw new AccessDenied(message("ingest_key_origin", { origin }), "Origin", 403);
  }
  return found.system;
}

function bodyTooLarge(limit) {
  return new ValidationError(message("body_too_large", { max: limit }), "body", 413);
}

// The whole body, refused with 413 as soon as it is known to exceed `limit` bytes.
async function readBody(request, limit) {
  const declared = request.headers.get("content-length");
  if (declared !== null && /^\d+$/.test(declared.trim()) && Number(declared) > limit) {
    throw bodyTooLarge(limit);
  }
  if (request.body === null) return new Uint8Array(0);
  const chunks = [];
  let size = 0;
  const reader = request.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel();
      throw bodyTooLarge(limit);
    }
    chunks.push(value);
  }
  const body = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) {
    body.set(chunk, at);
    at += chunk.byteLength;
  }
  return body;
}

async function dispatch(request, url, settings, store, ctx) {
  const route = ROUTES[url.pathname];
  if (route === undefined) {
    const reading = url.pathname === "/" || url.pathname.startsWith("/logs/");
    const why = reading ? ": this edge Worker only takes logs; read them from the tracesink service" : "";
    return errorResponse(404, `no route ${url.pathname}${why}`, "path");
  }
  if (request.method !== "POST") {
    return errorResponse(405, `${request.method} is not allowed on ${url.pathname}; use POST`, "method", [
      ["allow", "POST"],
    ]);
  }
  try {
    const pinned = checkIngestKey(request, url, settings.ingestKeys);
    const body = await readBody(request, settings.maxBodyBytes);
    return await route(request, body, pinned, settings, store);
  } catch (error) {
    if (error instanceof AccessDenied) {
      return errorResponse(error.status, error.message, error.field);
    }
    if (error instanceof ValidationError) return errorResponse(error.status, error.message, error.field);
    if (error instanceof StorageError) {
      console.warn(`store error: ${error.message}`);
      return errorResponse(503, message("store_unavailable"), null, [["retry-after", "1"]]);
    }
    throw error;
  } finally {
    // Drops refused without a command are written within seconds, after the response has gone.
    if (store.holdsDrops) ctx.waitUntil(store.flushWhenDue());
  }
}

export default {
  async fetch(request, env, ctx) {
    const found = settingsOf(env);
    if (found.error !== undefined) return errorResponse(500, found.error, "configuration");
    const { settings } = found;
    const { store, cors } = partsOf(settings);
    const url = new URL(request.url);
    const origin = request.headers.get("origin");
    let corsHeaders = [];
    if (origin !== null) {
      if (!validOrigin(origin)) {
        return errorResponse(400, message("origin_malformed"), "Origin");
      }
      if (!cors.allows(origin)) {
        // Readable by the refused page (CORS headers on the refusal alone), as the Python
        // service does: its client sees the 403 and stops instead of retrying a network error.
        return errorResponse(403, message("origin_refused", { origin }), "Origin", cors.headers(origin));
      }
      if (request.method === "OPTIONS") {
        const preflight = new Response(null, { status: 204 });
        for (const [name, value] of cors.preflightHeaders(origin)) preflight.headers.set(name, value);
        return preflight;
      }
      corsHeaders = cors.headers(origin);
    }
    const response = await dispatch(request, url, settings, store, ctx);
    for (const [name, value] of corsHeaders) response.headers.set(name, value);
    return response;
  },
};
