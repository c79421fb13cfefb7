// RFC 8785, the JSON Canonicalization Scheme (JCS): object keys sorted by their UTF-16 code units,
// no whitespace, strings and numbers serialised as ECMAScript's JSON.stringify does (numbers as
// Number.prototype.toString: 0.4, 1e-7, 1e+21; -0 as 0). The input is JSON data: plain objects,
// arrays, strings, finite numbers, booleans and null.

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** The RFC 8785 canonical serialisation of `value`. Throws on what JSON cannot hold (NaN, Infinity, undefined, functions, lone surrogates). */
export function canonicalize(value: unknown): string {
  if (value === null || typeof value === 'boolean') return JSON.stringify(value);
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new Error(`canonicalize: ${value} is no JSON number`);
    return JSON.stringify(value); // Number::toString, and -0 as 0, as RFC 8785 section 3.2.2.3
  }
  if (typeof value === 'string') {
    if (LONE_SURROGATE.test(value)) throw new Error('canonicalize: a string holds a lone surrogate');
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map(canonicalize).join(',')}]`;
  if (typeof value === 'object' && [Object.prototype, null].includes(Object.getPrototypeOf(value))) {
    const o = value as Record<string, unknown>;
    // the default sort compares UTF-16 code units, which is RFC 8785's order
    const keys = Object.keys(o).filter((k) => o[k] !== undefined).sort();
    return `{${keys.map((k) => `${canonicalize(k)}:${canonicalize(o[k])}`).join(',')}}`;
  }
  throw new Error(`canonicalize: ${typeof value} is no JSON value`);
}
