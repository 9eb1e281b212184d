// Settings from the Worker's environment: the same TRACESINK_* variables, defaults and accepted
// values as the Python service's config.py, for the options that matter to ingestion. A bad value
// is an error naming the variable, as Python's start-up refusal is (the Worker has no start-up:
// every request answers 500 with that message until the variable is fixed).

export const MANUAL = "manual";
export const SYSTEM_NAME = /^[a-z][a-z0-9_.-]{0,31}$/;
export const SYSTEM_NAME_RULE =
  "a-z, 0-9, '_', '.', '-', starting with a letter, at most 32 characters";
// store/keys.py's PREFIX: no brace, so the key layout is unambiguous for every prefix.
const KEY_PREFIX = /^[A-Za-z0-9._:-]{0,64}$/;
const DEFAULT_SHARES = "browser=40,worker=30,convex=30";

export class ConfigurationError extends Error {}

function positiveInt(raw) {
  if (!/^\s*[+-]?\d+\s*$/.test(raw)) throw new Error("a whole number");
  const value = Number(raw);
  if (value < 1) throw new Error("a whole number of at least 1");
  return value;
}

function count(raw) {
  if (!/^\s*[+-]?\d+\s*$/.test(raw)) throw new Error("a whole number (0 for none)");
  const value = Number(raw);
  if (value < 0) throw new Error("a whole number, 0 or more");
  return value;
}

function reservePercent(raw) {
  const value = count(raw);
  if (value > 90) throw new Error("a percentage from 0 to 90");
  return value;
}

function shares(raw) {
  const accepted = "a list like browser=40,worker=30,convex=30 (percentages of the global limit)";
  const parsed = new Map();
  for (const part of raw.split(",").map((p) => p.trim()).filter(Boolean)) {
    const at = part.indexOf("=");
    if (at < 0) throw new Error(accepted);
    const name = part.slice(0, at).trim();
    const pct = part.slice(at + 1).trim();
    if (!SYSTEM_NAME.test(name)) {
      throw new Error(`${accepted}; a system name is ${SYSTEM_NAME_RULE}, got '${name}'`);
    }
    if (name === MANUAL) {
      throw new Error(`${accepted}; manual has no share: it counts against the global limit`);
    }
    if (!/^[+-]?\d+$/.test(pct)) throw new Error(accepted);
    const value = Number(pct);
    if (value < 0 || value > 100) throw new Error(`${accepted}; each share from 0 to 100`);
    parsed.set(name, value);
  }
  if ([...parsed.values()].reduce((a, b) => a + b, 0) > 100) {
    throw new Error(`${accepted}; the shares add up to more than 100`);
  }
  return parsed;
}

function origins(raw) {
  const listed = raw.split(",").map((o) => o.trim().replace(/\/+$/, "")).filter(Boolean);
  for (const origin of listed) {
    if (origin !== "*" && !/^https?:\/\//.test(origin)) {
      throw new Error("a comma-separated list of origins like https://app.example.com");
    }
  }
  return listed;
}

// pk_web@browser=https://app.example.com|https://b.example,pk_cli=*  →  [{key, system, origins}]
function ingestKeys(raw) {
  const accepted =
    "a list like pk_web@browser=https://app.example.com|https://b.example,pk_cli=* " +
    `(@system optional: a system name, ${SYSTEM_NAME_RULE})`;
  const keys = [];
  for (const part of raw.split(",").map((p) => p.trim()).filter(Boolean)) {
    const eq = part.indexOf("=");
    const spec = (eq < 0 ? part : part.slice(0, eq)).trim();
    const allowed = eq < 0 ? "" : part.slice(eq + 1);
    const at = spec.indexOf("@");
    const key = at < 0 ? spec : spec.slice(0, at);
    const system = at < 0 ? null : spec.slice(at + 1);
    if (eq < 0 || key.length < 8 || !allowed.trim()) {
      throw new Error(`${accepted}; each key at least 8 characters`);
    }
    if (system !== null && !SYSTEM_NAME.test(system)) throw new Error(accepted);
    keys.push({ key, system, origins: origins(allowed.replaceAll("|", ",")) });
  }
  return keys;
}

// config_values.trace_entries: room for the newest entry and the trimmed marker.
function traceEntries(raw) {
  const value = positiveInt(raw);
  if (value < 2) throw new Error("a whole number of at least 2");
  return value;
}

function keyPrefix(raw) {
  if (!KEY_PREFIX.test(raw)) {
    throw new Error("up to 64 of A-Z a-z 0-9 . _ : - (e.g. 'dev:'), or empty for none");
  }
  return raw;
}

const OPTIONS = {
  global_limit: [positiveInt, "1000"],
  trace_limit: [positiveInt, "100"],
  system_shares: [shares, DEFAULT_SHARES],
  window_s: [positiveInt, "3600"],
  ttl_s: [positiveInt, "3600"],
  max_body_bytes: [positiveInt, String(1024 * 1024)],
  max_message_bytes: [positiveInt, String(16 * 1024)],
  max_context_bytes: [positiveInt, String(16 * 1024)],
  max_context_depth: [positiveInt, "8"],
  max_batch_items: [positiveInt, "1000"],
  cors_origins: [origins, ""],
  ingest_keys: [ingestKeys, ""],
  key_prefix: [keyPrefix, ""],
  max_commands_per_day: [count, "0"],
  read_reserve: [reservePercent, "10"],
  max_trace_entries: [traceEntries, "1000"],
};

function parseOptions(env) {
  const given = {};
  for (const [name, [parse, fallback]] of Object.entries(OPTIONS)) {
    const variable = `TRACESINK_${name.toUpperCase()}`;
    const raw = env[variable];
    try {
      given[name] = parse(raw === undefined || raw === null ? fallback : String(raw));
    } catch (error) {
      throw new ConfigurationError(`${variable}: expected ${error.message}, got '${raw}'`);
    }
  }
  return given;
}

// The limits every ingester on one database must agree on (limits.Policy in Python).
function policyOf(o) {
  const systemLimits = new Map();
  for (const [name, share] of o.system_shares) {
    systemLimits.set(name, Math.floor((o.global_limit * share) / 100));
  }
  return {
    globalLimit: o.global_limit,
    traceLimit: o.trace_limit,
    systemLimits,
    windowMs: o.window_s * 1000,
    ttlMs: o.ttl_s * 1000,
    // A list lives ttl to ttl + ttl/10 after its last write (limits.EXPIRY_SLACK_FRACTION).
    slackMs: Math.floor((o.ttl_s * 1000) / 10),
    keyPrefix: o.key_prefix,
    // Count every ingester's commands per UTC day in the store (TRACESINK_MAX_COMMANDS_PER_DAY).
    sharedBudget: o.max_commands_per_day > 0,
    // The most items a trace's list keeps (TRACESINK_MAX_TRACE_ENTRIES).
    maxTraceEntries: o.max_trace_entries,
  };
}

export function settingsFrom(env) {
  const o = parseOptions(env);
  const url = env.UPSTASH_REDIS_REST_URL;
  const token = env.UPSTASH_REDIS_REST_TOKEN;
  if (!url || !/^https?:\/\//.test(String(url))) {
    throw new ConfigurationError(
      "UPSTASH_REDIS_REST_URL must be the REST URL of the database (https://…), " +
        "as Upstash's console shows it",
    );
  }
  if (!token) {
    throw new ConfigurationError("UPSTASH_REDIS_REST_TOKEN must be set (wrangler secret put)");
  }
  return {
    windowS: o.window_s,
    policy: policyOf(o),
    rules: {
      maxMessageBytes: o.max_message_bytes,
      maxContextBytes: o.max_context_bytes,
      maxContextDepth: o.max_context_depth,
      systems: new Set([...o.system_shares.keys(), MANUAL]),
    },
    maxBodyBytes: o.max_body_bytes,
    maxBatchItems: o.max_batch_items,
    maxCommandsPerDay: o.max_commands_per_day,
    readReservePct: o.read_reserve,
    corsOrigins: o.cors_origins,
    ingestKeys: o.ingest_keys,
    store: { url: String(url).replace(/\/+$/, ""), token: String(token) },
  };
}

// Settings are parsed once per isolate and environment object (env is the same between requests).
const cache = new WeakMap();

export function settingsOf(env) {
  let found = cache.get(env);
  if (found === undefined) {
    try {
      found = { settings: settingsFrom(env) };
    } catch (error) {
      if (!(error instanceof ConfigurationError)) throw error;
      found = { error: error.message };
    }
    cache.set(env, found);
  }
  return found;
}
