/** Canonical JSON of plain data: object keys sorted, so equal values give equal strings. */
export function stableKey(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    return value === undefined ? 'u' : JSON.stringify(value);
  }
  if (Array.isArray(value)) return '[' + value.map(stableKey).join(',') + ']';
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj).sort();
  let out = '{';
  for (let i = 0; i < keys.length; i++) {
    if (i) out += ',';
    out += JSON.stringify(keys[i]) + ':' + stableKey(obj[keys[i]]);
  }
  return out + '}';
}
