// The messages both ingesters answer with, from src/tracesink/rules.json (through the generated
// rules.js): message(name, values) fills each {placeholder} with String(value), as the Python
// service's tracesink.rules.message fills it with str(value), so the two say the same words.

import { RULES } from "./rules.js";

export function message(name, values = {}) {
  return RULES.messages[name].replace(/\{(\w+)\}/g, (_, key) => {
    if (!Object.hasOwn(values, key)) throw new Error(`message ${name} needs a value for {${key}}`);
    return String(values[key]);
  });
}
