/**
 * `vpt run`: expands a suite into cells, prepares the shared base checkpoint, runs each cell in its own
 * worker process (execa) with N in parallel, keeps finished cells on --resume, and summarises the results
 * as a table (Markdown + CSV) next to them.
 */
import { execa } from 'execa';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeFileAtomic, writeJsonAtomic } from '../results/atomic.js';
import type { CellResult } from '../results/schema.js';
import { expandCells, type CellSpec } from '../suite/expand.js';
import { armId, suiteHash } from '../suite/define.js';
import type { Suite } from '../suite/schema.js';
import { ProgressDisplay } from './progress.js';
import { PROGRESS_PREFIX, type WorkerJob } from './protocol.js';

export interface RunOptions {
  /** Results folder. Default runs/<suite>. */
  outDir: string;
  /** Cache folder for generated data and base checkpoints. Default .cache. */
  cacheDir: string;
  /** Cells in parallel. Default 1. */
  workers: number;
  /** Keep cells whose cell.json completed with the same config hash. */
  resume: boolean;
  /** Per-cell wall-clock limit in seconds (0 = none). */
  cellTimeoutS: number;
  display?: ProgressDisplay;
}

const WORKER = fileURLToPath(new URL('./worker.ts', import.meta.url));
const TSX = import.meta.resolve('tsx');

export function cellDir(outDir: string, cell: CellSpec): string {
  return join(outDir, 'cells', cell.armId, `seed-${cell.seed}`);
}

export function readCell(dir: string): CellResult | undefined {
  const f = join(dir, 'cell.json');
  if (!existsSync(f)) return undefined;
  try {
    return JSON.parse(readFileSync(f, 'utf8')) as CellResult;
  } catch {
    return undefined;
  }
}

interface JobEvents {
  onProgress(phase: string, done: number, total: number): void;
}

async function runJob(job: WorkerJob, jobFile: string, timeoutS: number, ev: JobEvents): Promise<{ ok: boolean; timedOut: boolean; stderr: string }> {
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
    pending += chunk.toString();
    let nl: number;
    while ((nl = pending.indexOf('\n')) >= 0) {
      const line = pending.slice(0, nl);
      pending = pending.slice(nl + 1);
      if (!line.startsWith(PROGRESS_PREFIX)) continue;
      const msg = JSON.parse(line.slice(PROGRESS_PREFIX.length)) as { type: string; phase?: string; done?: number; total?: number };
      if (msg.type === 'progress') ev.onProgress(msg.phase ?? '', msg.done ?? 0, msg.total ?? 0);
    }
  });
  const r = await proc;
  return { ok: r.exitCode === 0, timedOut: Boolean(r.timedOut), stderr: String(r.stderr ?? '') };
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
  const cells = expandCells(s);
  const hash = suiteHash(s);
  const display = opts.display ?? new ProgressDisplay(cells.length, opts.workers);
  writeJsonAtomic(join(opts.outDir, 'suite.json'), { configHash: hash, suite: s });
  const todo: CellSpec[] = [];
  for (const c of cells) {
    const prev = opts.resume ? readCell(cellDir(opts.outDir, c)) : undefined;
    if (prev?.status === 'completed' && prev.configHash === hash) continue;
    todo.push(c);
  }
  display.skip(cells.length - todo.length);
  const jobsDir = join(opts.outDir, '.jobs');
  try {
    if (todo.length) {
      display.start('base');
      // One base checkpoint (cached by config hash) is shared by every cell, so it is built once, first.
      const base = await runJob({ kind: 'base', suite: s, dir: opts.outDir, cacheDir: opts.cacheDir }, join(jobsDir, 'base.json'), 0, {
        onProgress: (p, d, t) => display.update('base', p, d, t),
      });
      if (!base.ok) {
        display.finish('base', 'errored', '', false);
        throw new Error(`base pretraining failed:\n${base.stderr.slice(-4000)}`);
      }
      display.finish('base', 'completed', '(base checkpoint cached)', false);
    }
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < todo.length) {
        const cell = todo[next++] as CellSpec;
        const dir = cellDir(opts.outDir, cell);
        // A rerun replaces the cell's old record, so a stale one can never stand in for this attempt.
        rmSync(join(dir, 'cell.json'), { force: true });
        display.start(cell.id);
        const r = await runJob({ kind: 'cell', suite: s, cell, dir, cacheDir: opts.cacheDir }, join(jobsDir, `${cell.armId}-seed-${cell.seed}.json`), opts.cellTimeoutS, {
          onProgress: (p, d, t) => display.update(cell.id, p, d, t),
        });
        let res = readCell(dir);
        if (!r.ok && (!res || res.status === 'completed')) {
          // The worker died before recording its failure (killed, timed out, crashed): record it here.
          const status = r.timedOut ? 'timedout' : 'errored';
          writeJsonAtomic(join(dir, 'cell.json'), {
            id: cell.id, suite: s.name, arm: cell.arm.arm, armId: cell.armId, seed: cell.seed, configHash: hash,
            status, error: r.timedOut ? `exceeded ${opts.cellTimeoutS}s` : r.stderr.slice(-4000), metrics: {}, finishedAt: new Date().toISOString(),
          });
          res = readCell(dir);
        }
        const m = res?.metrics?.['pass@1,strict-match'];
        display.finish(cell.id, res?.status ?? 'errored', m ? `pass@1 ${(100 * m.value).toFixed(1)}%` : (res?.error?.split('\n')[0] ?? ''));
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, opts.workers) }, worker));
  } finally {
    display.close();
  }
  return summarise(s, opts.outDir, opts.cacheDir);
}

/** Reads every cell of the suite and writes the report (report/: tables, plots, index.html) and summary.md/.csv (the main table). */
export async function summarise(s: Suite, outDir: string, cacheDir: string): Promise<RunSummary> {
  const results = expandCells(s)
    .map((c) => readCell(cellDir(outDir, c)))
    .filter((r): r is CellResult => r !== undefined);
  const { writeReport } = await import('../report/write.js');
  const { readResultsDir } = await import('../report/read.js');
  const set = readResultsDir(outDir, { cacheDir });
  for (const w of set.warnings ?? []) process.stderr.write(`vpt: warning: ${w}\n`);
  const report = await writeReport(set, join(outDir, 'report'));
  const mdPath = join(outDir, 'summary.md');
  const csvPath = join(outDir, 'summary.csv');
  writeFileAtomic(mdPath, report.markdown);
  writeFileAtomic(csvPath, readFileSync(join(report.dir, 'main.csv'), 'utf8'));
  return { results, markdown: report.markdown, csvPath, mdPath, htmlPath: report.html };
}
