/**
 * `vpt run`: expands a suite into cells, prepares the shared base checkpoint, runs each cell in its own
 * worker process (execa) with N in parallel, keeps finished cells on --resume, and summarises the results
 * as a table (Markdown + CSV) next to them.
 */
import { execa } from 'execa';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeFileAtomic, writeJsonAtomic } from '../results/atomic.js';
import type { CellResult } from '../results/schema.js';
import { cellDir, readCell, type RunManifest } from '../results/folder.js';
import { isLock, lockFolder, type OutputLock } from '../results/lock.js';
import { checkOutputFolder } from '../results/writable.js';
import { codeHash, gitSha, harnessVersion } from '../results/version.js';
import { UserError } from '../errors.js';
import { taskOf } from '../tasks/index.js';
import { expandCells, type CellPlan, type CellSpec } from '../suite/expand.js';
import { releaseBackend } from '../engine/backend.js';
import { checkSuiteBackend, selectSuiteBackend } from './suite-backend.js';
import { armsToCalibrate, describePlan, planRows } from './budget.js';
import { calibrationHash, calibrationMismatch, readCalibration } from './calibration.js';
import { suiteHash } from '../suite/define.js';
import { fileHash } from '../suite/hash.js';
import type { Suite } from '../tasks/index.js';
import { ProgressDisplay } from './progress.js';
import { balanceByCost, roundRobin, type ShardSpec } from './shard.js';
import { EXIT_CODE_CHANGED, EXIT_CODE_USER, PROGRESS_PREFIX, type WorkerJob } from './protocol.js';

export interface RunOptions {
  /** Results folder. Default runs/<suite>. */
  outDir: string;
  /** Cache folder for generated data and base checkpoints. Default .cache. */
  cacheDir: string;
  /** Cells in parallel (at least 1). Default 1. */
  workers: number;
  /** Keep finished cells whose inputs are unchanged (config, data, arm, eval and harness versions). */
  resume: boolean;
  /** Move a results folder that belongs to another configuration or code version (or holds finished cells,
   * without `resume`) aside to `<outDir>.old-<time>` instead of refusing. Default false. */
  moveAside?: boolean;
  /** Per-cell wall-clock limit in seconds (0 = none). */
  cellTimeoutS: number;
  /** Run only this shard's cells (see shard.ts). Default: all cells. */
  shard?: ShardPlan;
  /** A stored calibration for wall-clock budgets (else the one in the results folder on --resume, else measured). */
  calibration?: string;
  /** Use a calibration from another device, backend or harness version. Default false. */
  forceCalibration?: boolean;
  display?: ProgressDisplay;
}

/** A shard of a suite: which one, how cells were dealt, and (after planning) its cell ids. */
export interface ShardPlan extends ShardSpec {
  balance: 'round-robin' | 'cost';
  /** Recorded per-cell costs (ms) for `balance: 'cost'`. */
  costs?: ReadonlyMap<string, number>;
}

/** The cells a run covers: all of the suite's, or one shard's. */
export function plannedCells(s: Suite, shard?: ShardPlan): CellSpec[] {
  const all = expandCells(s);
  if (!shard) return all;
  if (shard.balance === 'cost') return balanceByCost(all, shard, shard.costs ?? new Map());
  return roundRobin(all, shard);
}

const WORKER = fileURLToPath(new URL('./worker.ts', import.meta.url));
const TSX = import.meta.resolve('tsx');


/** The inputs a finished cell must share with this run to be kept on --resume. */
export interface CellInputs {
  configHash: string;
  codeHash: string;
  harnessVersion: string;
  dataHashes: Record<string, string>;
  evalVersions: Record<string, number>;
  armVersion: (arm: string) => number;
  /** Learner steps this run plans for the cell (from its budget). */
  plannedSteps: (cellId: string) => number;
  /** The data roles a cell reads (its task says; undefined: every role): only their changes redo it. */
  dataRoles?: (cellId: string) => readonly string[] | undefined;
}

/** Why a recorded cell cannot stand for this run (undefined: keep it). */
export function staleReason(prev: CellResult, want: CellInputs): string | undefined {
  if (typeof prev !== 'object' || prev === null || typeof prev.status !== 'string') {
    return 'its cell.json is not a cell record (no status): running the cell again replaces it';
  }
  if (prev.status !== 'completed') return `its last attempt ${prev.status}`;
  if (prev.configHash !== want.configHash) return `config changed (${prev.configHash} -> ${want.configHash})`;
  // Only the inputs this cell reads: a changed file it never opens (MATH test for a cell without decontamination)
  // leaves it standing.
  const reads = want.dataRoles?.(prev.id);
  const roles = new Set(reads ?? [...Object.keys(prev.dataHashes ?? {}), ...Object.keys(want.dataHashes)]);
  for (const role of [...roles].sort()) {
    const a = prev.dataHashes?.[role];
    const b = want.dataHashes[role];
    if (a !== b) return `data file ${role} changed (sha256 ${a?.slice(0, 12) ?? 'none'} -> ${b?.slice(0, 12) ?? 'none'})`;
  }
  if (prev.armVersion !== want.armVersion(prev.arm)) return `arm '${prev.arm}' version changed (${prev.armVersion} -> ${want.armVersion(prev.arm)})`;
  for (const [k, v] of Object.entries(want.evalVersions)) {
    if (prev.evalVersions?.[k] !== v) return `eval '${k}' version changed (${prev.evalVersions?.[k] ?? 'none'} -> ${v})`;
  }
  if (prev.harnessVersion !== want.harnessVersion) return `harness version changed (${prev.harnessVersion} -> ${want.harnessVersion})`;
  if (prev.codeHash !== want.codeHash) return `harness code changed (${prev.codeHash ?? 'unrecorded'} -> ${want.codeHash})`;
  const steps = want.plannedSteps(prev.id);
  if (prev.steps?.planned !== steps) return `its budget now plans ${steps} steps (it ran ${prev.steps?.planned ?? 'unknown'})`;
  if (prev.reads) {
    const now = existsSync(prev.reads.file) ? fileHash(readFileSync(prev.reads.file)) : undefined;
    if (now !== prev.reads.sha256) return `the cell it reads (${prev.reads.id}) changed`;
  }
  return undefined;
}

/** The cell.json a cell reads: in this run's folder, or in a recorded results folder. */
export function readsFile(outDir: string, cell: CellSpec): string | undefined {
  if (!cell.reads) return undefined;
  const where = cell.reads.results ? resolve(cell.reads.results) : outDir;
  return join(cellDir(where, { armId: cell.reads.armId, seed: cell.seed }), 'cell.json');
}

/** Id of the cell of this run that must finish before `cell` starts (undefined: none). */
function dependencyOf(cell: CellSpec): string | undefined {
  return cell.reads && !cell.reads.results ? `${cell.suite}/${cell.reads.armId}/seed-${cell.seed}` : undefined;
}

/** The cell.json files of a results folder (cells/<arm>/seed-N/cell.json). */
function recordFiles(outDir: string): string[] {
  const cells = join(outDir, 'cells');
  if (!existsSync(cells)) return [];
  const out: string[] = [];
  for (const arm of readdirSync(cells)) {
    const d = join(cells, arm);
    if (!statSync(d).isDirectory()) continue;
    for (const seed of readdirSync(d)) if (existsSync(join(d, seed, 'cell.json'))) out.push(join(d, seed, 'cell.json'));
  }
  return out;
}

/** The config and code hashes the folder's readable cell records share (a key is absent where they differ). */
function recordedBy(files: readonly string[]): Partial<Pick<RunManifest, 'configHash' | 'codeHash'>> {
  const seen = { configHash: new Set<unknown>(), codeHash: new Set<unknown>() };
  for (const f of files) {
    try {
      const r = JSON.parse(readFileSync(f, 'utf8')) as Partial<CellResult>;
      seen.configHash.add(r.configHash);
      seen.codeHash.add(r.codeHash);
    } catch {
      // An unreadable record says nothing about the run; resume redoes it.
    }
  }
  const one = (v: Set<unknown>): string | undefined => (v.size === 1 ? ([...v][0] as string | undefined) : undefined);
  const config = one(seen.configHash);
  const code = one(seen.codeHash);
  return { ...(config ? { configHash: config } : {}), ...(code ? { codeHash: code } : {}) };
}

/**
 * The manifest a folder records. A suite.json that cannot be parsed (truncated, edited) is rebuilt from the cell
 * records when they all name this run's configuration and code, so `--resume` continues the run; otherwise the
 * cells' hashes stand in for it and `note` says why.
 */
function recordedManifest(outDir: string, want: RunManifest, records: readonly string[], log: (line: string) => void): { prev: Partial<RunManifest>; note: string } {
  const f = join(outDir, 'suite.json');
  let text: string;
  try {
    text = readFileSync(f, 'utf8');
  } catch {
    // No manifest: a folder from an older harness, treated as another code version.
    return { prev: {}, note: '' };
  }
  try {
    return { prev: JSON.parse(text) as Partial<RunManifest>, note: '' };
  } catch (e) {
    const by = recordedBy(records);
    if (by.configHash === want.configHash && by.codeHash === want.codeHash) {
      log(`${f} is unreadable (${(e as Error).message}); its ${records.length} cell record(s) are all of this configuration and code, so it is written afresh`);
      return { prev: { ...want }, note: '' };
    }
    return { prev: by, note: `; its suite.json is unreadable (${(e as Error).message}), so its cell records speak for it` };
  }
}

/**
 * A results folder belongs to one configuration and one code version. Running into a folder that holds cells
 * of another configuration or code, or (without --resume) finished cells of this one, is refused unless
 * `moveAside`, which moves the old results aside first: nothing finished is overwritten silently. The caller holds
 * the folder's lock, which stays where it is.
 */
export function claimFolder(outDir: string, want: RunManifest, resume: boolean, moveAside: boolean, log: (line: string) => void): void {
  const files = recordFiles(outDir);
  const records = files.length;
  if (!records) return;
  const { prev, note } = recordedManifest(outDir, want, files, log);
  let conflict: string | undefined;
  let hint: string;
  if (prev.configHash !== want.configHash || JSON.stringify(prev.shard ?? null) !== JSON.stringify(want.shard ?? null)) {
    conflict = `holds ${records} cell record(s) of another configuration (config ${prev.configHash ?? 'unrecorded'}${prev.suite?.name ? ` of suite '${prev.suite.name}'` : ''}; this run is config ${want.configHash}${note})`;
    hint = 'give this run its own --out folder, or add --move-aside to move the old results aside';
  } else if (prev.codeHash !== want.codeHash) {
    conflict = `holds ${records} cell record(s) made by other code (code ${prev.codeHash ?? 'unrecorded'}, git ${prev.gitSha ?? 'unknown'}; this checkout is code ${want.codeHash}${note}), and one run must come from one version`;
    hint = 'check out the version that made them to resume, or add --move-aside to start over';
  } else if (!resume) {
    conflict = `already holds ${records} cell record(s) of this configuration`;
    hint = 'add --resume to keep the finished ones (cells whose inputs changed are redone), or --move-aside to start over';
  } else {
    return;
  }
  if (!moveAside) throw new UserError(`${outDir} ${conflict}: ${hint}`);
  const aside = `${outDir}.old-${new Date().toISOString().replace(/[:.]/g, '-')}`;
  // Entry by entry, so the lock this run holds stays in the folder it guards.
  mkdirSync(aside);
  for (const name of readdirSync(outDir)) if (!isLock(name)) renameSync(join(outDir, name), join(aside, name));
  log(`moved the old results aside to ${aside} (it ${conflict})`);
}

interface JobEvents {
  onProgress(phase: string, done: number, total: number): void;
}

interface JobOutcome {
  ok: boolean;
  timedOut: boolean;
  /** The worker found harness/ changed since the run started. */
  codeChanged: boolean;
  /** The worker stopped on a user error (bad input, a backend that cannot be had): its stderr is that one line. */
  userError: boolean;
  stderr: string;
}

/**
 * Why a base or calibration job failed, as one line first: the worker's user error as it said it, else the first
 * line of its error (the stack and stderr tail follow, for --verbose).
 */
export function jobError(what: string, r: Pick<JobOutcome, 'codeChanged' | 'userError' | 'stderr'>): Error {
  const text = r.stderr.trim();
  if (r.codeChanged) return new UserError(text);
  if (r.userError) return new UserError(`${what} failed: ${text.split('\n')[0]}`);
  const lines = text.split('\n').map((l) => l.trim()).filter(Boolean);
  const headline = lines.find((l) => /^(\w*Error|Error)\b/.test(l)) ?? lines.at(-1) ?? `the worker exited without a message`;
  return new Error(`${what} failed: ${headline}\n${r.stderr.slice(-4000)}`);
}

async function runJob(job: WorkerJob, jobFile: string, timeoutS: number, ev: JobEvents): Promise<JobOutcome> {
  writeJsonAtomic(jobFile, job);
  const proc = execa(process.execPath, ['--import', TSX, WORKER, jobFile], {
    reject: false,
    all: false,
    buffer: { stdout: false, stderr: true },
    ...(timeoutS > 0 ? { timeout: timeoutS * 1000 } : {}),
    env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: '2' },
  });
  let pending = '';
  proc.stdout?.on('data', (chunk: Buffer) => {
    const lines = (pending + chunk.toString()).split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) {
      if (!line.startsWith(PROGRESS_PREFIX)) continue;
      const msg = JSON.parse(line.slice(PROGRESS_PREFIX.length)) as { type: string; phase?: string; done?: number; total?: number };
      if (msg.type === 'progress') ev.onProgress(msg.phase ?? '', msg.done ?? 0, msg.total ?? 0);
    }
  });
  const r = await proc;
  return { ok: r.exitCode === 0, timedOut: Boolean(r.timedOut), codeChanged: r.exitCode === EXIT_CODE_CHANGED, userError: r.exitCode === EXIT_CODE_USER, stderr: String(r.stderr ?? '') };
}

export interface RunSummary {
  results: CellResult[];
  /** The main table as Markdown. */
  markdown: string;
  csvPath: string;
  mdPath: string;
  /** The HTML report (runs/<suite>/report/index.html). */
  htmlPath: string;
}

export async function runSuite(s: Suite, opts: RunOptions): Promise<RunSummary> {
  if (!Number.isInteger(opts.workers) || opts.workers < 1) throw new UserError(`--workers must be a whole number of at least 1 (got ${opts.workers})`);
  const cells = plannedCells(s, opts.shard);
  const hash = suiteHash(s);
  const code = codeHash();
  const display = opts.display ?? new ProgressDisplay(cells.length, opts.workers);
  if (opts.shard) display.log(`shard ${opts.shard.index}/${opts.shard.count} (${opts.shard.balance}): ${cells.length} cell(s): ${cells.map((c) => c.id).join(', ')}`);
  let lock: OutputLock | undefined;
  try {
    try {
      // What can be checked without writing comes first: the results folder, the backend, every data source.
      checkOutputFolder(opts.outDir, 'results folder');
      await checkSuiteBackend(s);
      // Every data source is checked before anything trains; its hashes decide which finished cells still hold.
      const task = taskOf(s);
      const data = await task.preflight(s, opts.cacheDir);
      // One writer per folder, held until the report is written (see ../results/lock.ts).
      lock = lockFolder(opts.outDir, { command: `vpt run ${s.name}`, log: (l) => display.log(l) });
      const manifest: RunManifest = {
        configHash: hash, codeHash: code, gitSha: gitSha(), harnessVersion: harnessVersion(), suite: s,
        ...(opts.shard ? { shard: { index: opts.shard.index, count: opts.shard.count, balance: opts.shard.balance, cells: cells.map((c) => c.id) } } : {}),
      };
      claimFolder(opts.outDir, manifest, opts.resume, opts.moveAside ?? false, (l) => display.log(l));
      writeJsonAtomic(join(opts.outDir, 'suite.json'), manifest);
      const base = baseStage(s, opts, code, display);
      const plans = await planSteps(s, opts, code, display, base);
      for (const c of cells) c.plan = plans.get(c.armId);
      const calibration = [...plans.values()].find((p) => p.calibration)?.calibration;
      if (calibration) writeJsonAtomic(join(opts.outDir, 'suite.json'), { ...manifest, calibration });
      const want: CellInputs = {
        configHash: hash, codeHash: code, harnessVersion: manifest.harnessVersion, dataHashes: data.hashes,
        evalVersions: task.evalVersions, armVersion: (a) => task.arms.get(a).version,
        plannedSteps: (id) => cells.find((c) => c.id === id)?.plan?.steps ?? Number.NaN,
        dataRoles: (id) => {
          const c = cells.find((x) => x.id === id);
          return c && task.dataRoles ? task.dataRoles(s, c) : undefined;
        },
      };
      const todo: CellSpec[] = [];
      for (const c of cells) {
        const prev = opts.resume ? readCell(cellDir(opts.outDir, c), (f, why) => display.log(`resume: redo ${c.id}: ${f} is unreadable (${why})`)) : undefined;
        const why = prev ? staleReason(prev, want) : undefined;
        if (prev && !why) continue;
        if (why) display.log(`resume: redo ${c.id}: ${why}`);
        todo.push(c);
      }
      display.skip(cells.length - todo.length);
      if (todo.length) await base();
      await runCells(s, opts, todo, code, display);
    } finally {
      display.close();
    }
    return await summarise(s, opts.outDir, opts.cacheDir);
  } finally {
    lock?.release();
  }
}

/**
 * The shared base checkpoint (cached by config hash), built once, before anything that needs it (the calibration,
 * the cells); the returned function runs it at most once.
 */
function baseStage(s: Suite, opts: RunOptions, code: string, display: ProgressDisplay): () => Promise<void> {
  let done: Promise<void> | undefined;
  const build = async (): Promise<void> => {
    display.start('base');
    const base = await runJob({ kind: 'base', suite: s, dir: opts.outDir, cacheDir: opts.cacheDir, codeHash: code }, join(opts.outDir, '.jobs', 'base.json'), 0, {
      onProgress: (p, d, t) => display.update('base', p, d, t),
    });
    if (!base.ok) {
      display.finish('base', 'errored', '', false);
      throw jobError('base pretraining', base);
    }
    display.finish('base', 'completed', '(base checkpoint cached)', false);
  };
  return () => {
    done ??= build();
    return done;
  };
}

/**
 * Learner steps per arm row from the budgets. Wall-clock budgets need a calibration: the one given
 * (`--calibration`), else the one stored in the results folder (on --resume), else one measured now in a fresh
 * worker after the base stage. It is kept as `calibration.json` beside the results.
 */
async function planSteps(s: Suite, opts: RunOptions, code: string, display: ProgressDisplay, base: () => Promise<void>): Promise<Map<string, CellPlan>> {
  const arms = armsToCalibrate(s);
  if (!arms.length) return planRows(s);
  const file = join(opts.outDir, 'calibration.json');
  const stored = opts.calibration ? resolve(opts.calibration) : opts.resume && existsSync(file) ? file : undefined;
  if (stored) {
    const c = readCalibration(stored);
    // The engine the workers will get; a WebGPU device opened here only to name it is freed at once.
    const engine = (await taskOf(s).trainerEngine?.(s)) ?? (await selectSuiteBackend(s).finally(releaseBackend));
    const why = calibrationMismatch(c, engine, harnessVersion(), arms);
    if (why && !(opts.forceCalibration && !why.startsWith('it has no cost'))) {
      throw new UserError(`${stored}: cannot plan this run's steps: ${why}${why.startsWith('it has no cost') ? '' : ' (--force-calibration uses it anyway)'}`);
    }
    if (why) display.log(`calibration: using ${stored} although ${why} (--force-calibration)`);
    if (stored !== file) writeFileAtomic(file, readFileSync(stored));
  } else {
    if (opts.shard) {
      throw new UserError(`suite '${s.name}' has wall-clock budgets: every shard must plan the same steps, so give each the same --calibration <file> (measure it once with vpt calibrate ${s.name})`);
    }
    await base();
    display.start('calibration');
    const r = await runJob({ kind: 'calibrate', suite: s, dir: opts.outDir, cacheDir: opts.cacheDir, codeHash: code, arms, out: file }, join(opts.outDir, '.jobs', 'calibrate.json'), 0, {
      onProgress: (p, d, t) => display.update('calibration', p, d, t),
    });
    if (!r.ok) {
      display.finish('calibration', 'errored', '', false);
      throw jobError('calibration', r);
    }
    display.finish('calibration', 'completed', `(${arms.join(', ')})`, false);
  }
  const calibration = readCalibration(file);
  const hash = calibrationHash(file);
  const plans = planRows(s, calibration);
  for (const line of describePlan(plans)) display.log(`budget: ${line}`);
  return new Map([...plans].map(([id, p]) => [id, { ...p, calibration: hash }]));
}

/**
 * `vpt calibrate`: builds the base checkpoint if needed and measures the per-step cost of every arm the suite's
 * budgets name (or `arms`), writing the calibration to `outFile` for `vpt run --calibration`.
 */
export async function calibrateSuite(s: Suite, o: { outFile: string; cacheDir: string; arms?: string[]; display?: ProgressDisplay }): Promise<string> {
  const arms = o.arms?.length ? o.arms : armsToCalibrate(s);
  if (!arms.length) throw new UserError(`suite '${s.name}' has no wall-clock budget: name the arms to measure with --arms`);
  for (const a of arms) taskOf(s).arms.get(a);
  await taskOf(s).preflight(s, o.cacheDir);
  const code = codeHash();
  const work = join(o.cacheDir, 'calibrate', s.name);
  const display = o.display ?? new ProgressDisplay(0, 1);
  const opts: RunOptions = { outDir: work, cacheDir: o.cacheDir, workers: 1, resume: false, cellTimeoutS: 0 };
  try {
    await baseStage(s, opts, code, display)();
    display.start('calibration');
    const r = await runJob({ kind: 'calibrate', suite: s, dir: work, cacheDir: o.cacheDir, codeHash: code, arms, out: o.outFile }, join(work, '.jobs', 'calibrate.json'), 0, {
      onProgress: (p, d, t) => display.update('calibration', p, d, t),
    });
    if (!r.ok) throw jobError('calibration', r);
    display.finish('calibration', 'completed', `(${arms.join(', ')})`, false);
  } finally {
    display.close();
  }
  return o.outFile;
}

async function runCells(s: Suite, opts: RunOptions, todo: readonly CellSpec[], code: string, display: ProgressDisplay): Promise<void> {
  if (!todo.length) return;
  const jobsDir = join(opts.outDir, '.jobs');
  const hash = suiteHash(s);
  const pending = todo.map((c) => c.id);
  const unfinished = new Set(pending);
  let changed: string | undefined;
  const wakeups: (() => void)[] = [];
  // Next cell whose dependency (the cell it reads, in this run) has finished; waits while one is running.
  const nextCell = async (): Promise<CellSpec | undefined> => {
    for (;;) {
      if (changed || !pending.length) return undefined;
      const k = pending.findIndex((id) => {
        const dep = dependencyOf(todo.find((c) => c.id === id) as CellSpec);
        return !dep || !unfinished.has(dep);
      });
      if (k >= 0) {
        const [id] = pending.splice(k, 1);
        return todo.find((c) => c.id === id);
      }
      await new Promise<void>((wake) => wakeups.push(wake));
    }
  };
  const finished = (id: string): void => {
    unfinished.delete(id);
    for (const wake of wakeups.splice(0)) wake();
  };
  const runOne = async (cell: CellSpec): Promise<void> => {
    const dir = cellDir(opts.outDir, cell);
    const reads = readsFile(opts.outDir, cell);
    // A rerun replaces the cell's old record, so a stale one can never stand in for this attempt.
    rmSync(join(dir, 'cell.json'), { force: true });
    display.start(cell.id);
    const r = await runJob({ kind: 'cell', suite: s, cell, dir, cacheDir: opts.cacheDir, codeHash: code, ...(reads ? { reads } : {}) }, join(jobsDir, `${cell.armId}-seed-${cell.seed}.json`), opts.cellTimeoutS, {
      onProgress: (p, d, t) => display.update(cell.id, p, d, t),
    });
    if (r.codeChanged) changed = r.stderr.trim();
    let res = readCell(dir);
    if (!r.ok && (!res || res.status === 'completed')) {
      // The worker died before recording its failure (killed, timed out, crashed): record it here.
      const status = r.timedOut ? 'timedout' : 'errored';
      writeJsonAtomic(join(dir, 'cell.json'), {
        id: cell.id, suite: s.name, arm: cell.arm.arm, armId: cell.armId, seed: cell.seed, configHash: hash, codeHash: code,
        status, error: r.timedOut ? `exceeded ${opts.cellTimeoutS}s` : r.stderr.slice(-4000), metrics: {}, finishedAt: new Date().toISOString(),
      });
      res = readCell(dir);
    }
    const headline = res?.status === 'completed' ? taskOf(s).headline(res) : (res?.error?.split('\n')[0] ?? '');
    display.finish(cell.id, res?.status ?? 'errored', headline);
  };
  const worker = async (): Promise<void> => {
    for (let cell = await nextCell(); cell; cell = await nextCell()) {
      await runOne(cell);
      finished(cell.id);
    }
  };
  await Promise.all(Array.from({ length: opts.workers }, worker));
  if (changed) throw new UserError(`${changed} (cells not started are left for --resume after restoring the code)`);
}

/**
 * Reads every cell of the suite present in `outDir` and writes the report (report/: tables, plots, index.html)
 * and summary.md/.csv (the main table). The reference rows (the base checkpoint, ...) come from the task's
 * cache and are kept in `reference.json`, so a folder copied elsewhere (merged shards) still has them.
 */
export async function summarise(s: Suite, outDir: string, cacheDir: string): Promise<RunSummary> {
  const results = expandCells(s)
    .map((c) => readCell(cellDir(outDir, c)))
    .filter((r): r is CellResult => r !== undefined);
  const reference = taskOf(s).referenceRows(s, results, cacheDir);
  if (reference.length) writeJsonAtomic(join(outDir, 'reference.json'), reference);
  const { writeReport } = await import('../report/write.js');
  const { readResultsDir } = await import('../report/read.js');
  const set = readResultsDir(outDir);
  for (const w of set.warnings ?? []) process.stderr.write(`vpt: warning: ${w}\n`);
  const report = await writeReport(set, join(outDir, 'report'));
  const mdPath = join(outDir, 'summary.md');
  const csvPath = join(outDir, 'summary.csv');
  writeFileAtomic(mdPath, report.markdown);
  writeFileAtomic(csvPath, readFileSync(join(report.dir, 'main.csv'), 'utf8'));
  return { results, markdown: report.markdown, csvPath, mdPath, htmlPath: report.html };
}
