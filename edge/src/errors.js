// The errors a request can end in, each mapped to one HTTP answer in index.js.

// Bad input: a 4xx naming the field (or header, or limit) that was wrong.
export class ValidationError extends Error {
  constructor(message, field = null, status = 400) {
    super(message);
    this.field = field;
    this.status = status;
  }
}

// A missing or wrong ingest key (401), or a key used from an origin it is not for (403).
export class AccessDenied extends Error {
  constructor(message, field, status = 401) {
    super(message);
    this.field = field;
    this.status = status;
  }
}
