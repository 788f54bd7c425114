import { createHash } from 'node:crypto';

/** JSON with object keys sorted at every level, so equal configs hash equally whatever their key order. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}

export function configHash(value: unknown): string {
  return createHash('sha256').update(canonicalJson(value)).digest('hex').slice(0, 16);
}

export function fileHash(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Hash of everything that determines results: the resolved suite without its `compare` settings and `requires` hints. */
export function suiteHash(s: { compare?: unknown; requires?: unknown }): string {
  const { compare: _judging, requires: _hints, ...producing } = s;
  return configHash(producing);
}
