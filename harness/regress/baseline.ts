/**
 * Baseline files (`baselines/<name>.json`): what `vpt compare` checks against and what `reports/` is
 * regenerated from. Per cell: status, metrics with their per-sample stderr (one cell per seed, so the
 * per-seed values are the cells), timings, memory, diagnostics, the downstream validation curve, and the provenance that decides
 * comparability (harness version, git sha, config hash, data hashes, eval versions, arm version, backend
 * and device). A file of a newer schema version is refused rather than misread.
 */
import { existsSync, readFileSync } from 'node:fs';
import { z } from 'zod';
import { writeJsonAtomic } from '../results/atomic.js';
import { armsOfSuite, CellRecordSchema, InputError, provenance, ReferenceRecordSchema, type CellRecord, type ResultSet } from '../report/read.js';

/** Bump on any change a older reader would misread. */
export const BASELINE_SCHEMA_VERSION = 1;

/**
 * Curves are left out except the downstream validation loss: a few points per cell, and the main table's
 * token-efficiency column reads them, so a table published from a baseline equals the run's own.
 */
const BaselineCellSchema = CellRecordSchema.omit({ config: true, curves: true }).extend({
  curves: z.looseObject({ downstream: CellRecordSchema.shape.curves.unwrap().shape.downstream }).optional(),
});

export const BaselineSchema = z.strictObject({
  schemaVersion: z.literal(BASELINE_SCHEMA_VERSION),
  kind: z.literal('vpt-baseline'),
  /** File stem under baselines/. */
  name: z.string(),
  suite: z.string(),
  configHash: z.string(),
  harnessVersion: z.string(),
  gitSha: z.string(),
  recordedAt: z.string(),
  /** The resolved suite as run (arm order, seeds, optional `compare` settings). */
  suiteConfig: z.record(z.string(), z.unknown()),
  /** Base-checkpoint metrics, when the run's cache had them. */
  references: z.array(ReferenceRecordSchema).optional(),
  cells: z.array(BaselineCellSchema).min(1),
});

export type Baseline = z.output<typeof BaselineSchema>;

/** Cuts a failed cell's error (often a stack) to its first line: the baseline records that it failed, not why in full. */
function slimCell(c: CellRecord): z.output<typeof BaselineCellSchema> {
  const { config: _config, curves, ...rest } = c;
  return {
    ...rest,
    ...(curves?.downstream ? { curves: { downstream: curves.downstream } } : {}),
    ...(c.error !== undefined ? { error: (c.error.split('\n')[0] ?? '').slice(0, 300) } : {}),
  };
}

export function baselineFromResults(set: ResultSet, name: string, recordedAt = new Date().toISOString()): Baseline {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name)) throw new InputError(`--as ${name}: a baseline name may hold letters, digits, '.', '_' and '-'`);
  const p = provenance(set);
  return {
    schemaVersion: BASELINE_SCHEMA_VERSION,
    kind: 'vpt-baseline',
    name,
    suite: set.suite,
    configHash: set.configHash,
    harnessVersion: p.harnessVersion,
    gitSha: p.gitSha,
    recordedAt,
    suiteConfig: set.suiteConfig ?? { name: set.suite, seeds: set.seeds, arms: set.arms.map((a) => ({ arm: a.arm, id: a.id, decontaminate: a.variant === 'decontaminated' })) },
    ...(set.references ? { references: set.references } : {}),
    cells: set.cells.map(slimCell),
  };
}

/** Writes a baseline atomically; an existing file is kept unless `force`. */
export function writeBaseline(file: string, b: Baseline, force: boolean): void {
  if (existsSync(file) && !force) throw new InputError(`${file} exists; pass --force to replace it`);
  writeJsonAtomic(file, b);
}

export function readBaseline(file: string): Baseline {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new InputError(`${file}: not a readable baseline (${(e as Error).message})`);
  }
  const head = z.looseObject({ schemaVersion: z.number(), kind: z.string().optional() }).safeParse(raw);
  if (!head.success || head.data.kind !== 'vpt-baseline') throw new InputError(`${file}: not a vpt baseline (no kind "vpt-baseline" with a schemaVersion)`);
  if (head.data.schemaVersion > BASELINE_SCHEMA_VERSION) {
    throw new InputError(`${file}: baseline schema version ${head.data.schemaVersion} is newer than this vpt reads (${BASELINE_SCHEMA_VERSION}); update vpt or re-record the baseline`);
  }
  if (head.data.schemaVersion < BASELINE_SCHEMA_VERSION) {
    throw new InputError(`${file}: baseline schema version ${head.data.schemaVersion} is older than this vpt reads (${BASELINE_SCHEMA_VERSION}); re-record it with vpt baseline record`);
  }
  const r = BaselineSchema.safeParse(raw);
  if (!r.success) {
    const i = r.error.issues[0] as z.core.$ZodIssue;
    throw new InputError(`${file}: ${i.path.join('.') || '(top level)'}: ${i.message}`);
  }
  for (const c of r.data.cells) if (c.suite !== r.data.suite) throw new InputError(`${file}: cell ${c.id} is of suite '${c.suite}', the baseline of '${r.data.suite}'`);
  return r.data;
}

/** A baseline as a result set, so the tables and the gate read it like a results folder. */
export function baselineResultSet(b: Baseline, source: string): ResultSet {
  const arms = armsOfSuite(b.suiteConfig) ?? [];
  const known = new Set(arms.map((a) => a.id));
  for (const c of b.cells) {
    if (known.has(c.armId)) continue;
    known.add(c.armId);
    arms.push({ id: c.armId, arm: c.arm ?? c.armId, variant: 'standard' });
  }
  const seeds = Array.isArray(b.suiteConfig.seeds) ? (b.suiteConfig.seeds as number[]) : [...new Set(b.cells.map((c) => c.seed))].sort((x, y) => x - y);
  return { suite: b.suite, sources: [source], configHash: b.configHash, arms, seeds, suiteConfig: b.suiteConfig, cells: b.cells, ...(b.references ? { references: b.references } : {}) };
}
