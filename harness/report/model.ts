/**
 * The one table model every renderer (Markdown, CSV, LaTeX, HTML) draws: rows in declared order, columns
 * with their direction, and cells that keep the raw numbers (per seed) so CSV can carry them unscaled while
 * text renderers format them with the column's display scale and digits.
 */
import type { MetricDisplay } from './display.js';
import type { Interval, Stat } from '../stats.js';

/** Values per seed (raw, unscaled). */
export type SeedValues = Record<number, number>;

export type TableCell =
  /** Mean ± sd over seeds. `best` marks the best mean in a ranked column. */
  | { kind: 'stat'; stat: Stat; seeds: SeedValues; best: boolean }
  /**
   * Mean paired difference from the reference arm with its 95% interval, or `withheld`: what holds instead when
   * no interval is stated (too few pairs, or differences without spread: "n = 2", "n = 4, no spread").
   */
  | { kind: 'delta'; diff: Stat; seeds: SeedValues; interval?: Interval; withheld?: string }
  /** The mean as a multiple of the reference arm's mean (cost table): mean/ref. */
  | { kind: 'ratio'; ratio: number }
  /**
   * A derived number (a recovered fraction, a step count) with an optional 95% interval; `text` replaces the
   * number in text renderers when it cannot be stated (e.g. "n/a", "never"), the CSV keeps `value`; `suffix`
   * follows it (a ratio, or why no interval is stated).
   */
  | { kind: 'value'; value: number; lo?: number; hi?: number; text?: string; suffix?: string }
  /** No value (the arm has no completed cell with it, or the reference row itself). */
  | { kind: 'empty'; text?: string };

export interface TableColumn {
  key: string;
  label: string;
  /** Metric, timing or diagnostic the column draws from (CSV `metric`). */
  source: string;
  /** Column group (the ablation table's stream variants). */
  group?: string;
  /** true: higher is better (↑), false: lower (↓), undefined: no direction shown. */
  higherIsBetter?: boolean;
  /** Ranked columns bold their best mean. */
  ranked: boolean;
  display: MetricDisplay;
  /**
   * Key of the column this one is printed beneath in LaTeX (a Δ under its metric's mean), so a page holds the
   * table; Markdown, CSV and HTML keep it a column of its own.
   */
  under?: string;
}

export interface TableRow {
  id: string;
  label: string;
  /** Cells of this arm that did not complete. */
  failed: number;
  /** A context row (the base checkpoint): never ranked, never a reference. */
  note?: string;
  /** Row group (the model of a table across suites): renderers print a heading where it changes. */
  group?: string;
  cells: Record<string, TableCell>;
}

export interface Footer {
  harnessVersion: string;
  gitSha: string;
  configHash: string;
  backend: string;
}

/** Most columns a table has, the row labels included: what a paper page holds. */
export const MAX_COLUMNS = 8;

export interface TableModel {
  /** File stem of its outputs: 'main', 'more-metrics', 'ablation', 'cost', 'diagnostics', 'model-by-method', ... */
  name: string;
  /** Where the HTML page puts it: the compact tables first, then the diagnostics. */
  section: 'compact' | 'diagnostics';
  suite: string;
  title: string;
  /** What ± and the intervals mean and how many seeds (every renderer prints it). */
  caption: string;
  /** Header of the row-label column. */
  rowHeader: string;
  columns: TableColumn[];
  rows: TableRow[];
  seeds: number[];
  footer: Footer;
}

export function footerLine(f: Footer): string {
  return `harness ${f.harnessVersion} · git ${f.gitSha} · config ${f.configHash} · backend ${f.backend}`;
}

/** Row label with its failures, as every text renderer prints it. */
export function rowLabel(r: TableRow): string {
  if (r.note) return `${r.label} (${r.note})`;
  return r.failed ? `${r.label} (${r.failed} failed)` : r.label;
}

const MINUS = '−';

function signed(x: number, digits: number): string {
  const s = Math.abs(x).toFixed(digits);
  // A change that rounds to zero gets no sign.
  if (Number(s) === 0) return s;
  return `${x > 0 ? '+' : MINUS}${s}`;
}

/** A plain number with a typographic minus; one that rounds to zero shows no sign ("−0.0000" → "0.0000"). */
function unsigned(x: number, digits: number): string {
  const s = x.toFixed(digits);
  if (Number(s) === 0) return Math.abs(x).toFixed(digits);
  return s.replace(/^-/, MINUS);
}

/** Plain-text pieces of a cell (renderers add their own bold and math). */
export interface CellText {
  main: string;
  /** "± sd" part, when shown. */
  spread?: string;
  /** Interval or note shown after the main number. */
  extra?: string;
  best: boolean;
}

export function cellText(c: TableCell, col: TableColumn): CellText {
  const { scale, digits } = col.display;
  switch (c.kind) {
    case 'stat':
      return {
        main: unsigned(c.stat.mean * scale, digits),
        ...(c.stat.n > 1 ? { spread: (c.stat.sd * scale).toFixed(digits) } : {}),
        best: c.best,
      };
    case 'delta':
      return {
        main: signed(c.diff.mean * scale, digits),
        extra: c.interval ? `[${signed(c.interval.lo * scale, digits)}, ${signed(c.interval.hi * scale, digits)}]` : `(${c.withheld ?? `n = ${c.diff.n}`})`,
        best: false,
      };
    case 'ratio':
      return { main: `${c.ratio.toFixed(2)}×`, best: false };
    case 'value':
      if (c.text !== undefined) return { main: c.text, best: false };
      return {
        main: unsigned(c.value * scale, digits),
        ...(c.lo !== undefined && c.hi !== undefined ? { extra: `[${unsigned(c.lo * scale, digits)}, ${unsigned(c.hi * scale, digits)}]` } : c.suffix ? { extra: c.suffix } : {}),
        best: false,
      };
    case 'empty':
      return { main: c.text ?? 'n/a', best: false };
  }
}

/** Column label with its direction arrow. */
export function columnLabel(c: TableColumn): string {
  return c.higherIsBetter === undefined ? c.label : `${c.label} ${c.higherIsBetter ? '↑' : '↓'}`;
}
