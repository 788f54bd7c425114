/**
 * One table model (arms × metrics, mean ± sd over seeds, in declared order) rendered as Markdown and CSV.
 * Every table names the harness version and config hash; the best value per column is bold; each arm's
 * primary metric is compared with the baseline, so an arm that loses says so.
 */
import { stringify } from 'csv-stringify/sync';
import type { CellResult } from '../results/schema.js';

export interface Stat {
  mean: number;
  sd: number;
  n: number;
}

export interface Column {
  key: string;
  label: string;
  higherIsBetter: boolean;
  /** Multiply for display (1 or 100 for percentages). */
  scale: number;
  digits: number;
  /** Diagnostics (value, probe, gate) are shown but never ranked or bolded. */
  diagnostic?: boolean;
}

export interface Row {
  id: string;
  values: Record<string, Stat | undefined>;
  /** Cells that did not complete (errored, timed out). */
  failed: number;
  note?: string;
}

export interface TableModel {
  title: string;
  harnessVersion: string;
  configHash: string;
  backend: string;
  columns: Column[];
  rows: Row[];
  /** Key of the metric compared with the baseline row. */
  primary: string;
  baselineId?: string;
}

export const LM_COLUMNS: Column[] = [
  { key: 'pass@1,strict-match', label: 'Pass@1 strict (%)', higherIsBetter: true, scale: 100, digits: 1 },
  { key: 'pass@1,flexible-extract', label: 'Pass@1 flexible (%)', higherIsBetter: true, scale: 100, digits: 1 },
  { key: 'answer_nll,none', label: 'answer NLL', higherIsBetter: false, scale: 1, digits: 3 },
  { key: 'value_mean,none', label: 'mean V', higherIsBetter: true, scale: 1, digits: 4, diagnostic: true },
  { key: 'probe_r,none', label: 'probe r', higherIsBetter: true, scale: 1, digits: 3, diagnostic: true },
  { key: 'gate_mean,none', label: 'mean α', higherIsBetter: true, scale: 1, digits: 3, diagnostic: true },
  { key: 'gate_wrong,none', label: 'α on wrong results', higherIsBetter: true, scale: 1, digits: 3, diagnostic: true },
  { key: 'gate_other,none', label: 'α elsewhere', higherIsBetter: true, scale: 1, digits: 3, diagnostic: true },
];

export function stat(xs: readonly number[]): Stat {
  const n = xs.length;
  const mean = xs.reduce((a, b) => a + b, 0) / n;
  const sd = n > 1 ? Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1)) : 0;
  return { mean, sd, n };
}

/** Metric or diagnostic value of a cell for a column key; a metric measured on zero items has none. */
function cellValue(r: CellResult, key: string): number | undefined {
  const m = r.metrics[key];
  if (m) return m.n > 0 && Number.isFinite(m.value) ? m.value : undefined;
  const d = r.diagnostics?.[key.split(',')[0] as string];
  return d !== undefined && Number.isFinite(d) ? d : undefined;
}

export function buildTable(
  title: string,
  results: readonly CellResult[],
  armOrder: readonly string[],
  extraRows: Row[] = [],
  columns: Column[] = LM_COLUMNS,
  primary = 'pass@1,strict-match',
): TableModel {
  const done = results.filter((r) => r.status === 'completed');
  const rows: Row[] = [...extraRows];
  for (const id of armOrder) {
    const mine = done.filter((r) => r.armId === id);
    const values: Record<string, Stat | undefined> = {};
    for (const c of columns) {
      const xs = mine.map((r) => cellValue(r, c.key)).filter((x): x is number => x !== undefined);
      values[c.key] = xs.length ? stat(xs) : undefined;
    }
    rows.push({ id, values, failed: results.filter((r) => r.armId === id && r.status !== 'completed').length });
  }
  const used = columns.filter((c) => rows.some((r) => r.values[c.key]));
  const first = done[0];
  return {
    title,
    harnessVersion: first?.harnessVersion ?? 'unknown',
    configHash: first?.configHash ?? 'unknown',
    backend: first?.engine ? `${first.engine.backend} (tfjs ${first.engine.tfjsVersion})` : 'unknown',
    columns: used,
    rows,
    primary,
    baselineId: armOrder.includes('baseline') ? 'baseline' : undefined,
  };
}

function fmt(s: Stat | undefined, c: Column): string {
  if (!s) return 'n/a';
  const m = (s.mean * c.scale).toFixed(c.digits);
  return s.n > 1 ? `${m} ± ${(s.sd * c.scale).toFixed(c.digits)}` : m;
}

/** Row ids whose mean is best in each column (ties all bold). */
function best(t: TableModel): Record<string, Set<string>> {
  const out: Record<string, Set<string>> = {};
  for (const c of t.columns.filter((x) => !x.diagnostic)) {
    const vals = t.rows.filter((r) => r.values[c.key] && !r.note).map((r) => [r.id, (r.values[c.key] as Stat).mean] as const);
    if (!vals.length) continue;
    const target = c.higherIsBetter ? Math.max(...vals.map((v) => v[1])) : Math.min(...vals.map((v) => v[1]));
    out[c.key] = new Set(vals.filter((v) => v[1] === target).map((v) => v[0]));
  }
  return out;
}

/** "+2.5 (better)" / "−1.0 (worse)" against the baseline's mean on the primary metric. */
export function versusBaseline(t: TableModel, r: Row): string {
  if (!t.baselineId || r.id === t.baselineId || r.note) return '';
  const b = t.rows.find((x) => x.id === t.baselineId)?.values[t.primary];
  const v = r.values[t.primary];
  const col = t.columns.find((c) => c.key === t.primary);
  if (!b || !v || !col) return '';
  const d = (v.mean - b.mean) * col.scale;
  const word = d === 0 ? 'tie' : (d > 0) === col.higherIsBetter ? 'better' : 'worse';
  return `${d >= 0 ? '+' : '−'}${Math.abs(d).toFixed(col.digits)} (${word})`;
}

export function toMarkdown(t: TableModel): string {
  const b = best(t);
  const n = Math.max(0, ...t.rows.flatMap((r) => Object.values(r.values).map((s) => s?.n ?? 0)));
  const primaryLabel = t.columns.find((c) => c.key === t.primary)?.label.replace(/ \(%\)$/, '') ?? t.primary;
  const head = ['arm', ...t.columns.map((c) => c.label), `vs baseline (${primaryLabel})`];
  const lines = [
    `### ${t.title}`,
    '',
    `mean ± sd over n = ${n} seeds · harness ${t.harnessVersion} · config ${t.configHash} · backend ${t.backend}`,
    '',
    `| ${head.join(' | ')} |`,
    `| ${head.map((_, i) => (i === 0 ? '---' : '---:')).join(' | ')} |`,
  ];
  for (const r of t.rows) {
    const cells = t.columns.map((c) => {
      const s = fmt(r.values[c.key], c);
      return b[c.key]?.has(r.id) && !r.note ? `**${s}**` : s;
    });
    const label = r.note ? `${r.id} (${r.note})` : r.failed ? `${r.id} (${r.failed} failed)` : r.id;
    lines.push(`| ${[label, ...cells, versusBaseline(t, r)].join(' | ')} |`);
  }
  return lines.join('\n') + '\n';
}

export function toCsv(t: TableModel): string {
  const records: (string | number)[][] = [['arm', 'metric', 'mean', 'sd', 'n', 'higher_is_better', 'harness_version', 'config_hash']];
  for (const r of t.rows) {
    for (const c of t.columns) {
      const s = r.values[c.key];
      if (s) records.push([r.id, c.key, s.mean, s.sd, s.n, String(c.higherIsBetter), t.harnessVersion, t.configHash]);
    }
  }
  return stringify(records);
}
