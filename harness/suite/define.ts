/**
 * `defineSuite` validates a suite declaration; `parseSuite` does the same for data from anywhere (a module,
 * `--set` overrides) and reports every problem with its key path.
 */
import { SuiteSchema, type Suite, type SuiteInput } from './schema.js';
import { armRegistry } from '../arms/index.js';
import { configHash } from './hash.js';
import { UserError } from '../errors.js';

/** A suite declaration or override that does not validate. */
export class SuiteError extends UserError {}

export function parseSuite(input: unknown, source = 'suite'): Suite {
  const r = SuiteSchema.safeParse(input);
  if (!r.success) {
    const lines = r.error.issues.map((i) => {
      const path = i.path.length ? i.path.join('.') : '(top level)';
      return `  ${path}: ${i.message}`;
    });
    throw new SuiteError(`${source} is invalid:\n${lines.join('\n')}`);
  }
  const suite = r.data;
  const ids = new Set<string>();
  suite.arms.forEach((a, i) => {
    if (!armRegistry.has(a.arm)) {
      throw new SuiteError(`${source} is invalid:\n  arms.${i}.arm: unknown arm '${a.arm}'; valid: ${armRegistry.names().join(', ')}`);
    }
    const id = armId(a);
    if (ids.has(id)) throw new SuiteError(`${source} is invalid:\n  arms.${i}: duplicate arm id '${id}' (give one an 'id')`);
    ids.add(id);
  });
  if (new Set(suite.seeds).size !== suite.seeds.length) throw new SuiteError(`${source} is invalid:\n  seeds: duplicate seeds`);
  if (suite.model.nEmbd % suite.model.nHead !== 0) {
    throw new SuiteError(`${source} is invalid:\n  model.nHead: ${suite.model.nHead} does not divide model.nEmbd ${suite.model.nEmbd}`);
  }
  if (suite.design.subsetBlocks > suite.model.nLayer) {
    throw new SuiteError(`${source} is invalid:\n  design.subsetBlocks: ${suite.design.subsetBlocks} exceeds model.nLayer ${suite.model.nLayer}`);
  }
  return suite;
}

/** Declares a suite: `export default defineSuite({...})`. Throws on invalid input. */
export function defineSuite(input: SuiteInput): Suite {
  return parseSuite(input, `suite '${(input as { name?: string }).name ?? '?'}'`);
}

export function armId(a: { arm: string; id?: string | undefined; decontaminate: boolean }): string {
  return a.id ?? (a.decontaminate ? `${a.arm}+decontam` : a.arm);
}

/** Hash of everything that determines results (the resolved suite). */
export function suiteHash(s: Suite): string {
  return configHash(s);
}
