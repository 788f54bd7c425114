/**
 * Reads stored results (a results folder's suite.json and cells/<arm>/seed-N/cell.json) into one validated,
 * task-agnostic set of cells. Every problem is an error naming the file (and key), never a silent skip:
 * a report or baseline built from half the cells would look complete.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { UserError } from '../errors.js';
import { canonicalJson } from '../suite/hash.js';

/** Bad input: one line naming the file; the CLI prints it and exits 2. */
export class InputError extends UserError {}

const num = z.number();
/** JSON writes NaN and Infinity as null. */
const maybeNum = z.number().nullable();

export const MetricRecordSchema = z.looseObject({ value: maybeNum, stderr: maybeNum.default(null), n: z.number().int().min(0).default(0) });

const TrainPointSchema = z.looseObject({ step: num, loss: maybeNum });
const DesignerPointSchema = z.looseObject({
  step: num,
  value: maybeNum,
  cos: maybeNum.optional(),
  gate: maybeNum,
  gateWrong: maybeNum.optional(),
  gateOther: maybeNum.optional(),
  /** Vision designers: mean μ and mean binary entropy of the meta batch's masks. */
  keep: maybeNum.optional(),
  entropy: maybeNum.optional(),
});
const DownstreamPointSchema = z.looseObject({ step: num, nll: maybeNum });
const ProbePointSchema = z.looseObject({ step: num, r: maybeNum, slope: maybeNum.optional(), rFirstOrder: maybeNum.optional() });

export const CellRecordSchema = z.looseObject({
  id: z.string(),
  suite: z.string(),
  arm: z.string().optional(),
  armId: z.string(),
  seed: z.number().int(),
  status: z.enum(['completed', 'errored', 'timedout', 'skipped']),
  error: z.string().optional(),
  harnessVersion: z.string().optional(),
  gitSha: z.string().optional(),
  configHash: z.string(),
  dataHashes: z.record(z.string(), z.string()).optional(),
  evalVersions: z.record(z.string(), z.number()).optional(),
  armVersion: z.number().optional(),
  metrics: z.record(z.string(), MetricRecordSchema).default({}),
  higherIsBetter: z.record(z.string(), z.boolean()).default({}),
  diagnostics: z.record(z.string(), maybeNum).default({}),
  engine: z.looseObject({ backend: z.string(), tfjsVersion: z.string().optional(), device: z.string().optional() }).optional(),
  timings: z.looseObject({ trainMs: num.optional(), evalMs: num.optional(), msPerStep: num.optional(), tokensPerSecond: num.optional(), totalMs: num.optional() }).optional(),
  memory: z.looseObject({ tfPeakBytes: num.optional(), rssPeakBytes: num.optional() }).optional(),
  steps: z.looseObject({ planned: num.optional(), done: num.optional() }).optional(),
  budget: z.looseObject({ budget: z.looseObject({ kind: z.string(), arm: z.string().optional(), seconds: num.optional(), updates: num.optional() }), plannedMs: num.optional() }).optional(),
  config: z.unknown().optional(),
  curves: z
    .looseObject({
      train: z.array(TrainPointSchema).optional(),
      designer: z.array(DesignerPointSchema).optional(),
      downstream: z.array(DownstreamPointSchema).optional(),
      probe: z.array(ProbePointSchema).optional(),
    })
    .optional(),
});

export const ReferenceRecordSchema = z.looseObject({ id: z.string(), label: z.string(), note: z.string(), metrics: z.record(z.string(), MetricRecordSchema) });

export type MetricRecord = z.output<typeof MetricRecordSchema>;
export type ReferenceRecord = z.output<typeof ReferenceRecordSchema>;
export type CellRecord = z.output<typeof CellRecordSchema>;

/** One declared arm: its row id, registered arm name and stream variant. */
export interface ArmInfo {
  id: string;
  arm: string;
  /** 'standard' or 'decontaminated' (column groups of the ablation table). */
  variant: string;
}

/** Everything the tables, plots and gate read: one suite's cells from one or more sources. */
export interface ResultSet {
  suite: string;
  /** Folders or baseline files the cells came from. */
  sources: string[];
  /** The suite's config hash (as recorded in suite.json, else the cells'). */
  configHash: string;
  /** Declared arms, in order. */
  arms: ArmInfo[];
  seeds: number[];
  /** The resolved suite as recorded (may carry `compare` tolerances). */
  suiteConfig?: Record<string, unknown>;
  cells: CellRecord[];
  /** Context rows measured once per suite (the base checkpoint before continued pretraining, ...). */
  references?: ReferenceRecord[];
  /** Things left out while reading (cells of another config), for the CLI to print. */
  warnings?: string[];
}

function readJson(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new InputError(`${file}: cannot read (${(e as Error).message})`);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new InputError(`${file}: not valid JSON (${(e as Error).message}); the file is truncated or corrupt: rerun with vpt run <suite> --resume --out <its folder> (same suite and --set; matching cells are kept and a damaged suite.json is rewritten from them)`);
  }
}

function issuesLine(file: string, error: z.ZodError): string {
  const i = error.issues[0] as z.core.$ZodIssue;
  const more = error.issues.length > 1 ? ` (and ${error.issues.length - 1} more)` : '';
  return `${file}: ${i.path.length ? i.path.join('.') : '(top level)'}: ${i.message}${more}`;
}

export function parseCell(file: string, value: unknown): CellRecord {
  const r = CellRecordSchema.safeParse(value);
  if (!r.success) throw new InputError(issuesLine(file, r.error));
  return r.data;
}

export function readCellFile(file: string): CellRecord {
  return parseCell(file, readJson(file));
}

interface SuiteArmEntry {
  arm: string;
  id?: string;
  decontaminate?: boolean;
}

/** Declared arms of a recorded suite (same id rule as the runner: id, else arm + "+decontam"). */
export function armsOfSuite(suite: Record<string, unknown> | undefined): ArmInfo[] | undefined {
  const arms = suite?.arms;
  if (!Array.isArray(arms)) return undefined;
  return (arms as SuiteArmEntry[]).map((a) => ({
    id: a.id ?? (a.decontaminate ? `${a.arm}+decontam` : a.arm),
    arm: a.arm,
    variant: a.decontaminate ? 'decontaminated' : 'standard',
  }));
}

/** Arms seen in cells but not declared (or no declaration at all): appended in id order. */
function completeArms(declared: ArmInfo[] | undefined, cells: readonly CellRecord[]): ArmInfo[] {
  const out = [...(declared ?? [])];
  const known = new Set(out.map((a) => a.id));
  const extra = [...new Set(cells.map((c) => c.armId))].filter((id) => !known.has(id)).sort();
  for (const id of extra) {
    const c = cells.find((x) => x.armId === id) as CellRecord;
    const arm = c.arm ?? id;
    out.push({ id, arm, variant: id === `${arm}+decontam` ? 'decontaminated' : 'standard' });
  }
  return out;
}

const SuiteFileSchema = z.looseObject({ configHash: z.string(), suite: z.looseObject({ name: z.string(), seeds: z.array(z.number()).optional() }) });

/** The cell.json files under a results folder (cells/<arm>/seed-N/cell.json), sorted. */
function cellFiles(dir: string): string[] {
  const root = join(dir, 'cells');
  if (!existsSync(root)) return [];
  const out: string[] = [];
  for (const arm of readdirSync(root).sort()) {
    const armDir = join(root, arm);
    if (!statSync(armDir).isDirectory()) continue;
    for (const seed of readdirSync(armDir).sort()) {
      const f = join(armDir, seed, 'cell.json');
      if (existsSync(f)) out.push(f);
    }
  }
  return out;
}

/**
 * Reference rows of a results folder: `reference.json` (written by the runner from the task), else — for
 * folders from before it existed — the language base checkpoint's metrics in the cache, when given.
 */
function readReferences(dir: string, cells: readonly CellRecord[], cacheDir: string | undefined): ReferenceRecord[] | undefined {
  const f = join(dir, 'reference.json');
  if (existsSync(f)) {
    const r = z.array(ReferenceRecordSchema).safeParse(readJson(f));
    if (!r.success) throw new InputError(issuesLine(f, r.error));
    return r.data;
  }
  if (!cacheDir) return undefined;
  const hash = cells.map((c) => (c.config as { baseHash?: unknown } | undefined)?.baseHash).find((h): h is string => typeof h === 'string');
  if (!hash) return undefined;
  const b = join(cacheDir, 'base', hash, 'base.json');
  if (!existsSync(b)) return undefined;
  const r = z.looseObject({ metrics: z.record(z.string(), MetricRecordSchema) }).safeParse(readJson(b));
  if (!r.success) throw new InputError(issuesLine(b, r.error));
  return [{ id: 'base', label: 'base checkpoint', note: 'before continued pretraining', metrics: r.data.metrics }];
}

export interface ReadOptions {
  /** Cache folder holding base checkpoints (for the base row). Default: none. */
  cacheDir?: string;
}

/** Reads one results folder. Throws {@link InputError} on any missing, corrupt or foreign file. */
export function readResultsDir(dirArg: string, opts: ReadOptions = {}): ResultSet {
  const dir = resolve(dirArg);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new InputError(`${dirArg}: no such results folder`);
  const suiteFile = join(dir, 'suite.json');
  if (!existsSync(suiteFile)) throw new InputError(`${dirArg}: not a results folder (no suite.json; expected the --out folder of vpt run)`);
  const sf = SuiteFileSchema.safeParse(readJson(suiteFile));
  if (!sf.success) throw new InputError(issuesLine(suiteFile, sf.error));
  const suite = sf.data.suite.name;
  const all = cellFiles(dir).map((f) => {
    const c = readCellFile(f);
    if (c.suite !== suite) throw new InputError(`${f}: cell of suite '${c.suite}' in a results folder of suite '${suite}'`);
    return { f, c };
  });
  if (!all.length) throw new InputError(`${dirArg}: no cells yet (no cells/*/seed-*/cell.json)`);
  // Cells left from an earlier config of the suite (an arm since removed) are not part of this run.
  const stale = all.filter((x) => x.c.configHash !== sf.data.configHash);
  const cells = all.filter((x) => x.c.configHash === sf.data.configHash).map((x) => x.c);
  if (!cells.length) throw new InputError(`${dirArg}: no cell was recorded under the config in suite.json (${sf.data.configHash})`);
  const warnings = stale.length ? [`${dirArg}: left out ${stale.length} cell(s) recorded under another config than suite.json's ${sf.data.configHash}: ${stale.map((x) => x.f).join(', ')}`] : [];
  const suiteConfig = sf.data.suite as Record<string, unknown>;
  const references = readReferences(dir, cells, opts.cacheDir);
  return {
    suite,
    sources: [dir],
    configHash: sf.data.configHash,
    arms: completeArms(armsOfSuite(suiteConfig), cells),
    seeds: sf.data.suite.seeds ?? [...new Set(cells.map((c) => c.seed))].sort((a, b) => a - b),
    suiteConfig,
    cells,
    ...(references ? { references } : {}),
    ...(warnings.length ? { warnings } : {}),
  };
}

/**
 * Joins result sets of one suite (shards, or a rerun of some cells). A cell present twice must be identical;
 * sets of different suites or config hashes are refused.
 */
export function joinResultSets(sets: readonly ResultSet[]): ResultSet {
  const [first, ...rest] = sets;
  if (!first) throw new InputError('no results given');
  const cells = new Map<string, { cell: CellRecord; source: string }>();
  for (const s of sets) {
    if (s.suite !== first.suite) throw new InputError(`${s.sources.join(', ')}: results of suite '${s.suite}', but ${first.sources[0]} holds suite '${first.suite}'`);
    if (s.configHash !== first.configHash) {
      throw new InputError(`${s.sources.join(', ')}: config ${s.configHash} differs from ${first.sources[0]} (config ${first.configHash})`);
    }
    for (const c of s.cells) {
      const prev = cells.get(c.id);
      if (prev && canonicalJson(prev.cell) !== canonicalJson(c)) {
        throw new InputError(`cell ${c.id} is in ${prev.source} and ${s.sources.join(', ')} with different results`);
      }
      cells.set(c.id, { cell: c, source: s.sources.join(', ') });
    }
  }
  if (!rest.length) return first;
  const all = [...cells.values()].map((x) => x.cell);
  const references = sets.find((s) => s.references)?.references;
  const warnings = sets.flatMap((s) => s.warnings ?? []);
  return {
    ...first,
    sources: sets.flatMap((s) => s.sources),
    arms: completeArms(first.arms, all),
    cells: all,
    ...(references ? { references } : {}),
    ...(warnings.length ? { warnings } : {}),
  };
}

/** Cells of one arm that completed, by seed. */
export function completedBySeed(set: ResultSet, armId: string): Map<number, CellRecord> {
  const out = new Map<number, CellRecord>();
  for (const c of set.cells) if (c.armId === armId && c.status === 'completed') out.set(c.seed, c);
  return out;
}

/** Unique values joined for a footer ("0.1.0" or "0.1.0, 0.2.0" when cells disagree). */
export function provenance(set: ResultSet): { harnessVersion: string; gitSha: string; configHash: string; backend: string } {
  const uniq = (xs: (string | undefined)[]): string => [...new Set(xs.filter((x): x is string => Boolean(x)))].sort().join(', ') || 'unknown';
  const done = set.cells.filter((c) => c.status === 'completed');
  const src = done.length ? done : set.cells;
  return {
    harnessVersion: uniq(src.map((c) => c.harnessVersion)),
    gitSha: uniq(src.map((c) => c.gitSha)),
    configHash: set.configHash,
    backend: uniq(src.map((c) => (c.engine ? `${c.engine.backend}${c.engine.device ? ` on ${c.engine.device}` : ''}` : undefined))),
  };
}
