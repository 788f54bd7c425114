/**
 * Sharding a suite over machines: `--shard i/n` picks a deterministic subset of the cells. By default the
 * sorted cell list is dealt round-robin, so consecutive seeds of one arm land on different shards and no shard
 * gets a single arm; `balance: 'cost'` packs cells longest-first by recorded costs instead.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../errors.js';
import type { CellSpec } from '../suite/expand.js';

export interface ShardSpec {
  /** 1-based shard number. */
  index: number;
  /** Number of shards. */
  count: number;
}

/** Parses "i/n" with 1 ≤ i ≤ n. */
export function parseShard(spec: string): ShardSpec {
  const m = /^(\d+)\/(\d+)$/.exec(spec.trim());
  if (!m) throw new UserError(`--shard '${spec}': expected i/n, e.g. 1/4`);
  const index = Number(m[1]);
  const count = Number(m[2]);
  if (count < 1) throw new UserError(`--shard '${spec}': the number of shards must be at least 1`);
  if (index < 1 || index > count) throw new UserError(`--shard '${spec}': the shard number must be between 1 and ${count}`);
  return { index, count };
}

const byId = (a: CellSpec, b: CellSpec): number => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/**
 * A cell that reads another cell of the run (schedule-matched reads V-pretraining's) must run in the same shard,
 * after it: such cells follow the cell they read. Returns the cells that lead (read nothing in this run) and, per
 * leading cell id, the cells that follow it.
 */
function leaders(cells: readonly CellSpec[]): { lead: CellSpec[]; followers: Map<string, CellSpec[]> } {
  const ids = new Set(cells.map((c) => c.id));
  const followers = new Map<string, CellSpec[]>();
  const lead: CellSpec[] = [];
  for (const c of cells) {
    const dep = c.reads && !c.reads.results ? `${c.suite}/${c.reads.armId}/seed-${c.seed}` : undefined;
    if (dep && ids.has(dep)) followers.set(dep, [...(followers.get(dep) ?? []), c]);
    else lead.push(c);
  }
  return { lead, followers };
}

/** The cells of the chosen leading cells and their followers, in declared order. */
function withFollowers(cells: readonly CellSpec[], chosen: Set<string>, followers: Map<string, CellSpec[]>): CellSpec[] {
  const mine = new Set(chosen);
  for (const id of chosen) for (const f of followers.get(id) ?? []) mine.add(f.id);
  return cells.filter((c) => mine.has(c.id));
}

/** Round-robin over the leading cells sorted by id; cells that read another follow it. */
export function roundRobin(cells: readonly CellSpec[], spec: ShardSpec): CellSpec[] {
  const { lead, followers } = leaders(cells);
  const sorted = [...lead].sort(byId);
  const chosen = new Set(sorted.filter((_, k) => k % spec.count === spec.index - 1).map((c) => c.id));
  return withFollowers(cells, chosen, followers);
}

/**
 * Longest-processing-time packing: cells sorted by cost (descending, ties by id) each go to the least loaded
 * shard (ties to the lowest shard number). Cells without a recorded cost count as the mean recorded cost.
 */
export function balanceByCost(cells: readonly CellSpec[], spec: ShardSpec, costs: ReadonlyMap<string, number>): CellSpec[] {
  const known = cells.map((c) => costs.get(c.id)).filter((x): x is number => x !== undefined && Number.isFinite(x));
  if (!known.length) throw new UserError('--balance cost: the recorded results hold no cost for any cell of this suite');
  const fallback = known.reduce((a, b) => a + b, 0) / known.length;
  const { lead, followers } = leaders(cells);
  const one = (c: CellSpec): number => costs.get(c.id) ?? fallback;
  // A leading cell carries the cost of the cells that follow it into its shard.
  const cost = (c: CellSpec): number => one(c) + (followers.get(c.id) ?? []).reduce((a, f) => a + one(f), 0);
  const order = [...lead].sort((a, b) => cost(b) - cost(a) || byId(a, b));
  const load = new Array<number>(spec.count).fill(0);
  const owner = new Map<string, number>();
  for (const c of order) {
    let best = 0;
    for (let k = 1; k < spec.count; k++) if ((load[k] as number) < (load[best] as number)) best = k;
    load[best] = (load[best] as number) + cost(c);
    owner.set(c.id, best);
  }
  const chosen = new Set([...owner].filter(([, k]) => k === spec.index - 1).map(([id]) => id));
  return withFollowers(cells, chosen, followers);
}

/**
 * Per-cell wall-clock costs (ms) recorded in a results folder (`cells/<arm>/seed-N/cell.json`) or a baseline
 * file (`baselines/<name>.json` with `cells: [{ id, timings: { totalMs } }]`).
 */
export function recordedCosts(path: string): Map<string, number> {
  if (!existsSync(path)) throw new UserError(`--costs ${path}: no such file or folder`);
  const out = new Map<string, number>();
  const add = (rec: { id?: unknown; timings?: { totalMs?: unknown } }): void => {
    if (typeof rec.id === 'string' && typeof rec.timings?.totalMs === 'number') out.set(rec.id, rec.timings.totalMs);
  };
  const parse = (f: string): unknown => {
    try {
      return JSON.parse(readFileSync(f, 'utf8'));
    } catch (e) {
      throw new UserError(`${f}: not valid JSON (${(e as Error).message})`);
    }
  };
  if (statSync(path).isDirectory()) {
    const cells = join(path, 'cells');
    if (!existsSync(cells)) throw new UserError(`--costs ${path}: not a results folder (no cells/)`);
    for (const arm of readdirSync(cells)) {
      for (const seed of readdirSync(join(cells, arm))) {
        const f = join(cells, arm, seed, 'cell.json');
        if (existsSync(f)) add(parse(f) as { id?: unknown });
      }
    }
  } else {
    const doc = parse(path) as { cells?: unknown };
    if (!Array.isArray(doc.cells)) throw new UserError(`--costs ${path}: expected a baseline file with a 'cells' list`);
    for (const c of doc.cells) add(c as { id?: unknown });
  }
  return out;
}
