/* tracesink browser client: sends console output, uncaught errors and unhandled rejections to a
 * tracesink service, and adds the page's trace id to its own fetch/XHR calls.
 * One <script src=".../client.js" data-…> tag is the whole setup; client.mjs is the ES module
 * entry for bundlers. Every entry point is guarded: this script never throws into the page. */
(function (g) {
  "use strict";
  if (g.TraceSink) return; // loaded twice (a tag and a module): the first one stays in charge
  var LEVELS = ["log", "info", "warn", "error", "debug"];
  var SECRET_KEY = /pass(word|wd)?|secret|token|api[-_]?key|authorization|cookie|session/i;
  var BEARER = /\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{8,}/g;
  var JWT = /\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*/g;
  var MAX_TEXT = 8192; // chars per message and per stack; the server caps again
  var api = {
    traceId: null,
    init: init,
    flush: function () { return Promise.resolve(); },
    stats: function () { return {}; },
  };
  g.TraceSink = api;
  if (typeof window === "undefined" || typeof document === "undefined") return; // SSR: no-op

  var script = document.currentScript;
  var o = null; // options once init() ran
  var queue = [];
  var marker = null; // the queue item that reports what was dropped since it was queued
  var counters = { sent: 0, dropped: 0, requests: 0 };
  var droppedBy = {}; // reason → count: queue_full, rate_limited, refused, undeliverable, client_cap
  var inflight = null;
  var timer = null;
  var due = 0; // when the timer fires
  var pausedUntil = 0;
  var failures = 0;
  var batchLimit = 0;
  var keepaliveBytes = 0; // in flight with keepalive: browsers allow 64 KiB per page
  var stopped = null; // why sending stopped for good (a wrong key, origin or endpoint)
  var busy = 0; // > 0 while our own code runs: console output from it is never captured
  var last = null; // the last queued entry, for collapsing repeats
  var minute = { start: 0, count: 0 };
  var ofetch = g.fetch;
  var encoder = g.TextEncoder ? new TextEncoder() : null;

  function init(options) {
    try {
      if (o) return api;
      o = settings(options || {});
      api.traceId = o.traceId;
      batchLimit = o.maxBatch;
      if (o.console) patchConsole();
      if (o.errors) listenErrors();
      patchFetch();
      patchXhr();
      g.addEventListener("pagehide", flushAll);
      document.addEventListener("visibilitychange", function () {
        if (document.visibilityState === "hidden") flushAll();
      });
      api.flush = flushQueue;
      api.stats = function () {
        return { queued: queue.length, sent: counters.sent, dropped: counters.dropped,
          droppedBy: Object.assign({}, droppedBy), requests: counters.requests,
          pausedUntil: pausedUntil, batchLimit: batchLimit, stopped: stopped };
      };
    } catch (e) { /* never break the page */ }
    return api;
  }

  function settings(opts) {
    var d = (script && script.dataset) || {};
    function pick(name, fallback) {
      if (opts[name] !== undefined) return opts[name];
      return d[name] !== undefined ? d[name] : fallback;
    }
    function num(name, fallback) {
      var v = Number(pick(name, fallback));
      return isFinite(v) && v >= 0 ? v : fallback;
    }
    function flag(name, fallback) {
      var v = pick(name, fallback);
      return v === true || v === "" || v === "true" || v === "1";
    }
    function list(v) {
      if (!v) return [];
      return Array.isArray(v) ? v : String(v).split(/[\s,]+/).filter(Boolean);
    }
    var origin = script && script.src ? new URL(script.src).origin : "http://localhost:8787";
    var meta = document.querySelector('meta[name="tracesink-trace-id"]');
    var ignore = pick("ignore", [/^\[(HMR|vite|webpack-dev-server)\]/, /Download the React DevTools/]);
    return {
      endpoint: String(pick("endpoint", origin)).replace(/\/+$/, ""),
      key: pick("key", null),
      traceId: String(pick("traceId", (meta && meta.content) || newId(16))),
      system: String(pick("system", "browser")),
      userId: pick("userId", undefined),
      release: pick("release", g.TRACESINK_RELEASE), // the build: picks its source maps
      propagate: list(pick("propagate", [location.origin])),
      traceparent: flag("traceparent", false),
      console: flag("console", true),
      levels: list(pick("levels", LEVELS)),
      errors: flag("errors", true),
      flushInterval: num("flushInterval", 1000),
      maxBatch: Math.max(1, num("maxBatch", 50)),
      maxBytes: Math.max(1024, num("maxBytes", 48 * 1024)),
      maxQueue: Math.max(1, num("maxQueue", 1000)),
      maxBackoff: num("maxBackoff", 30000),
      maxPause: num("maxPause", 60000),
      dedupeWindow: num("dedupeWindow", 2000),
      maxPerMinute: num("maxPerMinute", 600),
      ignore: (Array.isArray(ignore) ? ignore : [ignore]).map(function (p) {
        return p instanceof RegExp ? p : new RegExp(String(p));
      }),
      redact: flag("redact", true),
      beforeSend: typeof opts.beforeSend === "function" ? opts.beforeSend : null,
    };
  }

  function newId(bytes) {
    var a = new Uint8Array(bytes);
    if (g.crypto && crypto.getRandomValues) crypto.getRandomValues(a);
    else for (var i = 0; i < bytes; i++) a[i] = Math.floor(Math.random() * 256);
    a[0] |= 1; // never all zeros: that is not a valid W3C id
    return Array.prototype.map.call(a, function (b) { return (b < 16 ? "0" : "") + b.toString(16); }).join("");
  }

  // ---- capture ------------------------------------------------------------------------------

  function patchConsole() {
    o.levels.forEach(function (level) {
      var original = console[level];
      if (typeof original !== "function") return;
      var wrapper = function () {
        var args = arguments;
        if (!busy) {
          busy++;
          try { capture(level, args); } catch (e) { /* never break the page */ }
          try { return original.apply(this, args); } finally { busy--; }
        }
        return original.apply(this, args);
      };
      try { console[level] = wrapper; } catch (e) { /* a frozen console: leave it alone */ }
    });
  }

  function listenErrors() {
    g.addEventListener("error", function (event) {
      if (!event || !event.message) return; // a resource that failed to load, not a script error
      guarded(function () {
        var err = event.error;
        add("error", "Uncaught " + (err ? describeError(err) : event.message),
          err && err.stack, { source: event.filename, line: event.lineno, column: event.colno });
      });
    });
    g.addEventListener("unhandledrejection", function (event) {
      guarded(function () {
        var reason = event.reason;
        add("error", "Unhandled rejection: " + render(reason),
          reason instanceof Error ? reason.stack : undefined);
      });
    });
  }

  function guarded(fn) {
    if (busy) return;
    busy++;
    try { fn(); } catch (e) { /* never break the page */ } finally { busy--; }
  }

  function capture(level, args) {
    var parts = [];
    var stack;
    var first = args[0];
    var start = 0;
    if (typeof first === "string" && first.indexOf("%") >= 0 && args.length > 1) {
      var i = 1;
      parts.push(first.replace(/%[sdifoOjc%]/g, function (m) {
        if (m === "%%") return "%";
        if (i >= args.length) return m;
        var v = args[i++];
        if (m === "%c") return "";
        if (m === "%d" || m === "%i") return String(parseInt(v, 10));
        if (m === "%f") return String(parseFloat(v));
        return render(v);
      }));
      start = i;
    }
    for (var j = start; j < args.length; j++) {
      if (!stack && args[j] instanceof Error) stack = args[j].stack;
      parts.push(render(args[j]));
    }
    add(level, parts.join(" "), stack);
  }

  function describeError(e) {
    return (e.name || "Error") + ": " + e.message;
  }

  function render(v) {
    if (typeof v === "string") return v;
    if (v instanceof Error) return describeError(v);
    if (v === undefined || typeof v === "number" || typeof v === "boolean" || v === null) return String(v);
    if (typeof v === "bigint") return v + "n";
    if (typeof v === "symbol") return v.toString();
    if (typeof v === "function") return "[Function " + (v.name || "anonymous") + "]";
    if (g.Node && v instanceof Node) return describeNode(v);
    try { return JSON.stringify(v, replacer()) || String(v); } catch (e) { return String(v); }
  }

  function describeNode(n) {
    if (n.nodeType !== 1) return "[" + n.nodeName + "]";
    return "<" + n.nodeName.toLowerCase() + (n.id ? "#" + n.id : "") +
      (typeof n.className === "string" && n.className ? "." + n.className.trim().split(/\s+/).join(".") : "") + ">";
  }

  function replacer() {
    var seen = [];
    return function (key, value) {
      if (o.redact && key && SECRET_KEY.test(key) && value != null && typeof value !== "object") return "[redacted]";
      if (typeof value === "bigint") return value + "n";
      if (typeof value === "function") return "[Function " + (value.name || "anonymous") + "]";
      if (typeof value === "symbol") return value.toString();
      if (value instanceof Error) return describeError(value);
      if (g.Node && value instanceof Node) return describeNode(value);
      if (value instanceof Map) return { "[Map]": Array.from(value.entries()) };
      if (value instanceof Set) return { "[Set]": Array.from(value) };
      if (value && typeof value === "object") {
        // `seen` holds this value's ancestors (JSON.stringify calls with `this` = the parent)
        while (seen.length && seen[seen.length - 1] !== this) seen.pop();
        if (seen.indexOf(value) >= 0) return "[Circular]";
        seen.push(value);
      }
      return value;
    };
  }

  // ---- the queue ----------------------------------------------------------------------------

  function add(level, message, stack, context) {
    if (stopped) return;
    message = cut(message);
    for (var i = 0; i < o.ignore.length; i++) if (o.ignore[i].test(message)) return;
    var now = Date.now();
    if (last && !last.sent && last.level === level && last.message === message &&
        now - last.at < o.dedupeWindow) {
      last.repeated++;
      return;
    }
    if (now - minute.start >= 60000) minute = { start: now, count: 0 };
    if (++minute.count > o.maxPerMinute) return drop("client_cap");
    var entry = { trace_id: o.traceId, level: level, message: message, system: o.system, timestamp: now };
    if (stack) entry.stack = cut(String(stack));
    if (context) entry.context = context;
    if (o.userId !== undefined) entry.user_id = o.userId;
    if (o.release) entry.release = String(o.release);
    if (o.redact) {
      entry.message = scrub(entry.message);
      if (entry.stack) entry.stack = scrub(entry.stack);
    }
    if (o.beforeSend) {
      try { entry = o.beforeSend(entry); } catch (e) { return drop("refused"); }
      if (!entry) return;
    }
    enqueue({ entry: entry, level: level, message: message, at: now, repeated: 1, sent: false });
  }

  function enqueue(item) {
    if (queue.length >= o.maxQueue) return drop("queue_full");
    queue.push(item);
    last = item;
    schedule(queue.length >= Math.min(o.maxBatch, batchLimit) ? 0 : o.flushInterval);
  }

  function cut(s) {
    return s.length > MAX_TEXT ? s.slice(0, MAX_TEXT) + "… [cut by the client]" : s;
  }

  function scrub(s) {
    return s.replace(BEARER, "$1 [redacted]").replace(JWT, "[redacted jwt]");
  }

  // The reasons and the policy are every tracesink client's (docs/http-api.md, "Refused
  // entries"). What is dropped is counted in a marker entry queued where the gap is (after
  // everything queued so far), so that the trace shows it in place; it may exceed maxQueue by
  // one. Not what a limit refused: the server's own marker shows that gap already.
  function drop(reason, n) {
    n = n || 1;
    count(reason, n);
    if (reason !== "rate_limited") report(reason, n);
  }

  function count(reason, n) {
    counters.dropped += n;
    droppedBy[reason] = (droppedBy[reason] || 0) + n;
  }

  function report(reason, n) {
    if (!marker || marker.sent) {
      marker = { dropped: {}, repeated: 1, sent: false, at: Date.now() };
      queue.push(marker);
      schedule(o.flushInterval);
    }
    marker.dropped[reason] = (marker.dropped[reason] || 0) + n;
  }

  function markerEntry(item) {
    var total = 0;
    var text = Object.keys(item.dropped).map(function (r) {
      total += item.dropped[r];
      return item.dropped[r] + " " + r;
    }).join(", ");
    return { trace_id: o.traceId, level: "warn", system: o.system, timestamp: item.at,
      message: "tracesink client dropped " + total + " entries (" + text + ")",
      context: { tracesink_dropped: item.dropped } };
  }

  // A flush after `delay` ms (never before a pause ends), unless one is due sooner or running.
  function schedule(delay) {
    if (inflight) return;
    var now = Date.now();
    delay = Math.max(delay, pausedUntil - now, 0);
    if (timer !== null) {
      if (due <= now + delay) return;
      clearTimeout(timer);
    }
    due = now + delay;
    timer = setTimeout(function () { timer = null; flushNow(); }, delay);
  }

  function serialize(item) {
    var e = item.dropped ? markerEntry(item) : item.entry;
    if (item.repeated > 1) {
      e = Object.assign({}, e, { message: e.message + " (repeated " + item.repeated + "×)" });
    }
    return JSON.stringify(e);
  }

  function size(s) {
    return encoder ? encoder.encode(s).length : s.length * 3;
  }

  // Takes the next batch off the queue: at most batchLimit entries and maxBytes of NDJSON.
  function take(limit) {
    var items = [], lines = [], bytes = 0;
    while (queue.length && items.length < limit) {
      var line = serialize(queue[0]);
      var n = size(line) + 1;
      if (items.length && bytes + n > o.maxBytes) break;
      queue[0].sent = true;
      items.push(queue.shift());
      lines.push(line);
      bytes += n;
    }
    return { items: items, body: lines.join("\n"), bytes: bytes };
  }

  // Stamped per attempt: the page's clock as this request leaves, so the service can correct
  // for a clock that is off (?clock=, docs/http-api.md).
  function url() {
    return o.endpoint + "/logs?clock=" + Date.now() + (o.key ? "&key=" + encodeURIComponent(o.key) : "");
  }

  // text/plain NDJSON without custom headers is a "simple" request: no CORS preflight, and
  // keepalive lets it outlive the page; the ingest key therefore travels as ?key=.
  function post(body, bytes) {
    var keepalive = keepaliveBytes + bytes < 60000;
    counters.requests++;
    if (keepalive) keepaliveBytes += bytes;
    var sent = ofetch.call(g, url(), {
      method: "POST", body: body, keepalive: keepalive, mode: "cors", credentials: "omit",
      headers: { "Content-Type": "text/plain;charset=UTF-8" },
    });
    var release = function () { if (keepalive) keepaliveBytes -= bytes; };
    sent.then(release, release);
    return sent;
  }

  // Everything queued, batch after batch, unless the server asked to wait.
  function flushQueue() {
    return flushNow().then(function () {
      if (queue.length && Date.now() >= pausedUntil && !stopped) return flushQueue();
    });
  }

  function flushNow() {
    try {
      if (timer !== null) { clearTimeout(timer); timer = null; }
      if (inflight) return inflight;
      if (!o || stopped || !queue.length) return Promise.resolve();
      if (Date.now() < pausedUntil) { schedule(0); return Promise.resolve(); }
      var batch = take(batchLimit);
      inflight = post(batch.body, batch.bytes)
        .then(function (res) { return settle(batch.items, res); },
          function () { retryLater(batch.items); })
        .then(finish, finish);
      return inflight;
    } catch (e) {
      return Promise.resolve();
    }
  }

  function finish() {
    inflight = null;
    if (!stopped && queue.length) schedule(failures ? 0 : o.flushInterval);
  }

  // Stored entries count as sent; what the server refused (a 429, or items of a 200's
  // `rejected`) is dropped, never resent: as rate_limited when a limit refused it (retryable),
  // else as refused. A marker of ours that was refused goes back in the queue.
  function settle(items, res) {
    var status = res.status;
    if (status < 300) {
      failures = 0;
      return res.json().then(function (body) { return body.rejected; }, function () {})
        .then(function (rejected) {
          var why = [];
          (Array.isArray(rejected) ? rejected : []).forEach(function (r) {
            if (r) why[r.index] = r.retryable === true ? "rate_limited" : "refused";
          });
          refuse(items, why);
        });
    }
    if (status === 429) {
      pausedUntil = Date.now() + retryAfter(res.headers.get("Retry-After"));
      return refuse(items, items.map(function () { return "rate_limited"; }));
    }
    if (status === 413) {
      if (items.length === 1) return refuse(items, ["refused"]);
      batchLimit = Math.max(1, Math.floor(items.length / 2)); // halve; a single entry is dropped
      requeue(items);
      return;
    }
    if (status >= 500 || status === 408) return retryLater(items);
    if (status === 400) return refuse(items, items.map(function () { return "refused"; }));
    // 401, 403, 404…: a wrong key, origin or endpoint will not heal by retrying; stop quietly.
    stopped = "HTTP " + status + " from " + o.endpoint;
    count("refused", items.concat(queue).filter(function (item) { return !item.dropped; }).length);
    queue = [];
  }

  // why[i]: the drop reason of items[i], or nothing when it was stored.
  function refuse(items, why) {
    var back = [];
    items.forEach(function (item, i) {
      if (!why[i]) { if (!item.dropped) counters.sent++; }
      else if (item.dropped) back.push(item);
      else drop(why[i]);
    });
    requeue(back);
  }

  // Retry-After as delta-seconds or an HTTP-date, at most maxPause; a past date is no wait,
  // none or an unreadable one a second.
  function retryAfter(v) {
    var ms = v === null || v.trim() === "" ? NaN : isNaN(v) ? Date.parse(v) - Date.now() : v * 1000;
    return Math.min(o.maxPause, Math.max(0, isNaN(ms) ? 1000 : ms));
  }

  function retryLater(items) {
    failures++;
    var backoff = Math.min(o.maxBackoff, 500 * Math.pow(2, failures - 1)) * (0.5 + Math.random() / 2);
    pausedUntil = Date.now() + backoff;
    requeue(items);
  }

  function requeue(items) {
    for (var i = items.length - 1; i >= 0; i--) {
      items[i].sent = false;
      queue.unshift(items[i]);
    }
    var over = queue.splice(o.maxQueue + 1); // the newest go; their counts are kept
    over.forEach(function (item) {
      if (item === marker) marker = null;
      if (!item.dropped) return drop("queue_full");
      for (var r in item.dropped) report(r, item.dropped[r]); // counted once already
    });
  }

  // The page is going away (or hidden, which may be the last chance on mobile): send everything
  // now, in keepalive requests within the browser's 64 KiB budget, else by sendBeacon.
  function flushAll() {
    guarded(function () {
      if (!o || stopped) return;
      if (timer !== null) { clearTimeout(timer); timer = null; }
      while (queue.length) {
        var batch = take(o.maxBatch);
        var sent = false;
        if (keepaliveBytes + batch.bytes < 60000) {
          try { post(batch.body, batch.bytes).catch(function () {}); sent = true; } catch (e) { /* over budget */ }
        }
        if (!sent && !(navigator.sendBeacon && navigator.sendBeacon(url(), batch.body))) {
          count("undeliverable", batch.items.length); // nowhere left to report it
          break;
        }
        counters.sent += batch.items.length;
      }
    });
  }

  // ---- trace propagation --------------------------------------------------------------------

  function propagates(target) {
    try {
      var origin = new URL(target, location.href).origin;
      return o.propagate.indexOf("*") >= 0 || o.propagate.indexOf(origin) >= 0;
    } catch (e) {
      return false;
    }
  }

  function traceparent() {
    return /^[0-9a-f]{32}$/.test(o.traceId) && !/^0+$/.test(o.traceId)
      ? "00-" + o.traceId + "-" + newId(8) + "-01" : null;
  }

  function patchFetch() {
    if (typeof ofetch !== "function") return;
    g.fetch = function (input, initArg) {
      try {
        var isRequest = g.Request && input instanceof Request;
        if (propagates(isRequest ? input.url : String(input))) {
          var headers = new Headers((initArg && initArg.headers) || (isRequest ? input.headers : undefined));
          if (!headers.has("x-trace-id")) headers.set("X-Trace-Id", o.traceId);
          var tp = o.traceparent && !headers.has("traceparent") && traceparent();
          if (tp) headers.set("traceparent", tp);
          initArg = Object.assign({}, initArg, { headers: headers });
        }
      } catch (e) { /* send it as the page asked */ }
      return ofetch.call(this, input, initArg);
    };
  }

  function patchXhr() {
    var X = g.XMLHttpRequest && XMLHttpRequest.prototype;
    if (!X) return;
    var open = X.open, send = X.send, setHeader = X.setRequestHeader;
    var urls = new WeakMap(), named = new WeakMap();
    X.open = function (method, target) {
      try { urls.set(this, String(target)); named.set(this, {}); } catch (e) { /* ignore */ }
      return open.apply(this, arguments);
    };
    X.setRequestHeader = function (name) {
      try { (named.get(this) || {})[String(name).toLowerCase()] = true; } catch (e) { /* ignore */ }
      return setHeader.apply(this, arguments);
    };
    X.send = function () {
      try {
        var has = named.get(this) || {};
        if (urls.has(this) && propagates(urls.get(this))) {
          if (!has["x-trace-id"]) setHeader.call(this, "X-Trace-Id", o.traceId);
          var tp = o.traceparent && !has.traceparent && traceparent();
          if (tp) setHeader.call(this, "traceparent", tp);
        }
      } catch (e) { /* send it as the page asked */ }
      return send.apply(this, arguments);
    };
  }

  // A classic <script> tag starts capturing at once (data-init="false" waits for init()).
  if (script && script.dataset && script.dataset.init !== "false" && /client\.js/.test(script.src)) {
    init();
  }
})(globalThis);
