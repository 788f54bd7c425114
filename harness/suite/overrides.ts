/**
 * `--set key=value` overrides on a suite: dotted paths into the declaration; values parse as JSON when they
 * can (numbers, booleans, arrays) and as strings otherwise. The result is validated again, so an unknown key
 * or a wrong type is an error naming the key.
 */
import { SuiteError } from '../errors.js';

export function applyOverrides(input: Record<string, unknown>, sets: readonly string[]): Record<string, unknown> {
  const out = structuredClone(input);
  for (const s of sets) {
    const eq = s.indexOf('=');
    if (eq <= 0) throw new SuiteError(`--set '${s}': expected key=value`);
    const path = s.slice(0, eq).split('.');
    const raw = s.slice(eq + 1);
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch {
      value = raw;
    }
    let node: Record<string, unknown> = out;
    path.slice(0, -1).forEach((k, i) => {
      const next = node[k];
      if (next === undefined) node[k] = {};
      else if (typeof next !== 'object' || next === null) {
        throw new SuiteError(`--set '${s}': '${path.slice(0, i + 1).join('.')}' is not an object`);
      }
      node = node[k] as Record<string, unknown>;
    });
    node[path[path.length - 1] as string] = value;
  }
  return out;
}
