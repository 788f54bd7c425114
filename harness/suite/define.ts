/**
 * `defineSuite` validates a suite declaration; `parseSuite` does the same for data from anywhere (a module,
 * `--set` overrides) and reports every problem with its key path.
 */
import { SuiteError } from '../errors.js';
import { SuiteSchema, taskOf, type LanguageSuite, type LanguageSuiteInput, type Suite, type SuiteInput, type VisionSuite, type VisionSuiteInput } from '../tasks/index.js';
import { armId } from './cell.js';
import { suiteIssues } from './schema.js';

export { SuiteError } from '../errors.js';
export { armId } from './cell.js';

export function parseSuite(input: unknown, source = 'suite'): Suite {
  const r = SuiteSchema.safeParse(input);
  if (!r.success) throw suiteIssues(source, r.error.issues);
  const suite = r.data;
  const task = taskOf(suite);
  const problems: string[] = [];
  const ids = new Set<string>();
  suite.arms.forEach((a, i) => {
    if (!task.arms.has(a.arm)) problems.push(`arms.${i}.arm: unknown ${suite.task} arm '${a.arm}'; valid: ${task.arms.names().join(', ')}`);
    const id = armId(a);
    if (ids.has(id)) problems.push(`arms.${i}: duplicate arm id '${id}' (give one an 'id')`);
    ids.add(id);
  });
  if (!problems.length) problems.push(...readsProblems(suite));
  if (new Set(suite.seeds).size !== suite.seeds.length) problems.push('seeds: duplicate seeds');
  const unsupported = suite.backend === 'auto' ? undefined : task.unsupportedBackends?.[suite.backend];
  if (unsupported) problems.push(`backend: the ${suite.task} task does not run on ${suite.backend}: ${unsupported}`);
  problems.push(...task.checkSuite(suite));
  if (problems.length) throw new SuiteError(`${source} is invalid:\n${problems.map((p) => `  ${p}`).join('\n')}`);
  return suite;
}

/** Rows that read another cell must name a row of this suite that reads nothing itself (or a recorded folder). */
function readsProblems(suite: Suite): string[] {
  const task = taskOf(suite);
  const ids = suite.arms.map(armId);
  const out: string[] = [];
  suite.arms.forEach((a, i) => {
    const reads = task.arms.get(a.arm).reads;
    if (a.from !== undefined && reads === undefined) {
      out.push(`arms.${i}.from: '${a.arm}' reads no other cell; 'from' is for arms that do (${task.arms.names().filter((n) => task.arms.get(n).reads).join(', ') || 'none here'})`);
      return;
    }
    const target = a.from ?? reads;
    if (target === undefined || typeof target !== 'string') return;
    const j = ids.indexOf(target);
    if (j < 0) {
      out.push(`arms.${i}: '${a.arm}' reads the same-seed cell of row '${target}', which this suite does not have; add that row, or give 'from' (a row id, or { results, arm })`);
    } else if (j === i) {
      out.push(`arms.${i}.from: a row cannot read itself`);
    } else {
      const t = suite.arms[j] as Suite['arms'][number];
      if ((t.from ?? task.arms.get(t.arm).reads) !== undefined) out.push(`arms.${i}.from: row '${target}' reads another cell itself; read a row that does not`);
    }
  });
  return out;
}

/** Declares a suite: `export default defineSuite({...})`. Throws on invalid input. */
export function defineSuite(input: VisionSuiteInput): VisionSuite;
export function defineSuite(input: LanguageSuiteInput): LanguageSuite;
export function defineSuite(input: SuiteInput): Suite {
  return parseSuite(input, `suite '${(input as { name?: string }).name ?? '?'}'`);
}

/** The suite as a language suite, or an error naming the command that needs one. */
export function languageSuite(s: Suite, what: string): LanguageSuite {
  if (s.task !== 'language') throw new SuiteError(`${what} works on language suites; '${s.name}' is a ${s.task} suite`);
  return s;
}

export { suiteHash } from './hash.js';
