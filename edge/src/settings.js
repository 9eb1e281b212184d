// Settings from the Worker's environment: the same TRACESINK_* variables, defaults and accepted
// values as the Python service's config.py, for the options that matter to ingestion. A bad value
// is an error naming the variable, as Python's start-up refusal is (the Worker has no start-up:
// every request answers 500 with that message until the variable is fixed). The defaults, the
// patterns and the messages are src/tracesink/rules.json's, the Python service's own.

import { message } from "./messages.js";
import { RULES } from "./rules.js";

// A pattern of the rules file, matched whole (Python's re.fullmatch).
export const whole = (pattern) => new RegExp(`^(?:${pattern})$`);

export const MANUAL = RULES.entry.manual;
export const SYSTEM_NAME = whole(RULES.entry.system_name);
export const SYSTEM_NAME_RULE = RULES.messages.system_name;
// store/keys.py's PREFIX: no brace, so the key layout is unambiguous for every prefix.
const KEY_PREFIX = whole(RULES.keys.prefix);

export class ConfigurationError extends Error {}

function positiveInt(raw) {
  if (!/^\s*[+-]?\d+\s*$/.test(raw)) throw new Error(message("setting_whole"));
  const value = Number(raw);
  if (value < 1) throw new Error(message("setting_positive"));
  return value;
}

function count(raw) {
  if (!/^\s*[+-]?\d+\s*$/.test(raw)) throw new Error(message("setting_count"));
  const value = Number(raw);
  if (value < 0) throw new Error(message("setting_count_negative"));
  return value;
}

function reservePercent(raw) {
  const value = count(raw);
  const max = RULES.budget.max_read_reserve;
  if (value > max) throw new Error(message("setting_reserve", { max }));
  return value;
}

function shares(raw) {
  const accepted = message("setting_shares");
  const parsed = new Map();
  for (const part of raw.split(",").map((p) => p.trim()).filter(Boolean)) {
    const at = part.indexOf("=");
    if (at < 0) throw new Error(accepted);
    const name = part.slice(0, at).trim();
    const pct = part.slice(at + 1).trim();
    if (!SYSTEM_NAME.test(name)) {
      throw new Error(message("setting_shares_name", { accepted, rule: SYSTEM_NAME_RULE, name }));
    }
    if (name === MANUAL) throw new Error(message("setting_shares_manual", { accepted }));
    if (!/^[+-]?\d+$/.test(pct)) throw new Error(accepted);
    const value = Number(pct);
    if (value < 0 || value > 100) throw new Error(message("setting_shares_range", { accepted }));
    parsed.set(name, value);
  }
  if ([...parsed.values()].reduce((a, b) => a + b, 0) > 100) {
    throw new Error(message("setting_shares_sum", { accepted }));
  }
  return parsed;
}

function origins(raw) {
  const listed = raw.split(",").map((o) => o.trim().replace(/\/+$/, "")).filter(Boolean);
  for (const origin of listed) {
    if (origin !== "*" && !/^https?:\/\//.test(origin)) {
      throw new Error(message("setting_origins"));
    }
  }
  return listed;
}

// pk_web@browser=https://app.example.com|https://b.example,pk_cli=*  →  [{key, system, origins}]
function ingestKeys(raw) {
  const accepted = message("setting_ingest_keys", { rule: SYSTEM_NAME_RULE });
  const keys = [];
  for (const part of raw.split(",").map((p) => p.trim()).filter(Boolean)) {
    const eq = part.indexOf("=");
    const spec = (eq < 0 ? part : part.slice(0, eq)).trim();
    const allowed = eq < 0 ? "" : part.slice(eq + 1);
    const at = spec.indexOf("@");
    const key = at < 0 ? spec : spec.slice(0, at);
    const system = at < 0 ? null : spec.slice(at + 1);
    if (eq < 0 || key.length < 8 || !allowed.trim()) {
      throw new Error(message("setting_ingest_key_length", { accepted }));
    }
    if (system !== null && !SYSTEM_NAME.test(system)) throw new Error(accepted);
    keys.push({ key, system, origins: origins(allowed.replaceAll("|", ",")) });
  }
  return keys;
}

// config_values.trace_entries: room for the newest entry and the trimmed marker.
function traceEntries(raw) {
  const value = positiveInt(raw);
  const min = RULES.keys.min_trace_entries;
  if (value < min) throw new Error(message("setting_trace_entries", { min }));
  return value;
}

function keyPrefix(raw) {
  if (!KEY_PREFIX.test(raw)) {
    throw new Error(message("setting_key_prefix"));
  }
  return raw;
}

// Each setting's parser; its default is the rules file's, written as its variable would be.
const OPTIONS = {
  global_limit: positiveInt,
  trace_limit: positiveInt,
  system_shares: shares,
  window_s: positiveInt,
  ttl_s: positiveInt,
  max_body_bytes: positiveInt,
  max_message_bytes: positiveInt,
  max_context_bytes: positiveInt,
  max_context_depth: positiveInt,
  max_batch_items: positiveInt,
  cors_origins: origins,
  ingest_keys: ingestKeys,
  key_prefix: keyPrefix,
  max_commands_per_day: count,
  read_reserve: reservePercent,
  max_trace_entries: traceEntries,
};

// Every setting of the rules file is one the Worker reads: one added there without a parser here
// stops the Worker loading (and tests/edge/test_rules_agree.py), never silently ignored.
for (const name of Object.keys(RULES.defaults)) {
  if (!Object.hasOwn(OPTIONS, name)) throw new Error(`settings.js: no parser for ${name}`);
}
const SECRET = new Set(["ingest_keys"]); // config.py's secret=True options the Worker reads

// A default of the rules file as a TRACESINK_* variable holds it: 1000, browser=40,worker=30,
// https://a.example,https://b.example, pk_web@browser=https://a.example|https://b.example.
export function asVariable(value) {
  if (Array.isArray(value)) return value.join(",");
  if (value !== null && typeof value === "object") {
    return Object.entries(value)
      .map(([k, v]) => `${k}=${Array.isArray(v) ? v.join("|") : v}`)
      .join(",");
  }
  return String(value);
}

function parseOptions(env) {
  const given = {};
  for (const [name, parse] of Object.entries(OPTIONS)) {
    const variable = `TRACESINK_${name.toUpperCase()}`;
    const raw = env[variable];
    const fallback = asVariable(RULES.defaults[name]);
    try {
      given[name] = parse(raw === undefined || raw === null ? fallback : String(raw));
    } catch (error) {
      // As the Python service words it; a secret's value is never repeated (it would be in
      // every answer, to anyone).
      const shown = SECRET.has(name) ? "****" : `'${raw}'`;
      const expected = error.message;
      throw new ConfigurationError(message("setting_invalid", { variable, shown, expected }));
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
    // A list lives ttl to ttl + ttl/10 after its last write (limits.Policy.expiry_slack_ms).
    slackMs: Math.floor((o.ttl_s * 1000) / RULES.keys.expiry_slack_fraction),
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
