// The raw text of a JSON object's members, so that `context` is checked and stored exactly as it
// was sent (Python keeps it as msgspec.Raw): same bytes, same size limit, no re-encoding.
// Only called on text JSON.parse has accepted, so the scanner need not report syntax errors.

const WHITESPACE = new Set([" ", "\t", "\n", "\r"]);

function skipSpace(text, at) {
  while (WHITESPACE.has(text[at])) at += 1;
  return at;
}

function stringEnd(text, at) {
  // text[at] is the opening quote; the index after the closing one.
  for (let i = at + 1; ; i += 1) {
    if (text[i] === "\\") i += 1;
    else if (text[i] === '"') return i + 1;
  }
}

function valueEnd(text, at) {
  if (text[at] === '"') return stringEnd(text, at);
  if (text[at] !== "{" && text[at] !== "[") {
    let i = at;
    while (i < text.length && !WHITESPACE.has(text[i]) && !",]}".includes(text[i])) i += 1;
    return i;
  }
  let depth = 0;
  for (let i = at; ; i += 1) {
    const c = text[i];
    if (c === '"') i = stringEnd(text, i) - 1;
    else if (c === "{" || c === "[") depth += 1;
    else if (c === "}" || c === "]") {
      depth -= 1;
      if (depth === 0) return i + 1;
    }
  }
}

// Every member of the JSON object `text` as [key, raw value text], in the order written,
// a repeated key each time (msgspec checks each occurrence; JSON.parse keeps only the last).
export function rawMembers(text) {
  const members = [];
  let at = skipSpace(text, 0) + 1; // past "{"
  for (;;) {
    at = skipSpace(text, at);
    if (text[at] === "}") return members;
    const keyEnd = stringEnd(text, at);
    const key = JSON.parse(text.slice(at, keyEnd));
    at = skipSpace(text, keyEnd) + 1; // past ":"
    at = skipSpace(text, at);
    const end = valueEnd(text, at);
    members.push([key, text.slice(at, end)]);
    at = skipSpace(text, end);
    if (text[at] === ",") at += 1;
  }
}

// The raw text of each element of the JSON array `text`.
export function rawElements(text) {
  const items = [];
  let at = skipSpace(text, 0) + 1; // past "["
  for (;;) {
    at = skipSpace(text, at);
    if (text[at] === "]") return items;
    const end = valueEnd(text, at);
    items.push(text.slice(at, end));
    at = skipSpace(text, end);
    if (text[at] === ",") at += 1;
  }
}
