/**
 * CSV renderer (csv-stringify): one record per row × column with the raw, unscaled numbers — mean, sd, n,
 * the 95% interval of a difference, and one column per seed — plus the provenance on every record.
 */
import { stringify } from 'csv-stringify/sync';
import type { TableModel } from './model.js';

/** Raw numbers to 12 significant digits: drops float noise (0.20000000000000004) and keeps every digit that means anything. */
const raw = (x: number | undefined): number | string => (x === undefined ? '' : Number(x.toPrecision(12)));

export function toCsv(t: TableModel): string {
  const seedCols = t.seeds.map((s) => `seed_${s}`);
  const records: (string | number)[][] = [
    ['table', 'row', 'row_label', 'column', 'group', 'metric', 'kind', 'mean', 'sd', 'n', 'ci95_low', 'ci95_high', 'higher_is_better', 'best', 'failed', ...seedCols, 'harness_version', 'git_sha', 'config_hash'],
  ];
  const tail = [t.footer.harnessVersion, t.footer.gitSha, t.footer.configHash];
  for (const r of t.rows) {
    for (const c of t.columns) {
      const cell = r.cells[c.key];
      if (!cell || cell.kind === 'empty') continue;
      const hib = c.higherIsBetter === undefined ? '' : String(c.higherIsBetter);
      const label = r.note ? `${r.label} (${r.note})` : r.label;
      const base = [t.name, r.id, r.group ? `${r.group}: ${label}` : label, c.key, c.group ?? '', c.source, cell.kind];
      if (cell.kind === 'ratio') {
        records.push([...base, raw(cell.ratio), '', '', '', '', hib, '', r.failed, ...t.seeds.map(() => ''), ...tail]);
        continue;
      }
      if (cell.kind === 'value') {
        records.push([...base, Number.isFinite(cell.value) ? raw(cell.value) : '', '', '', raw(cell.lo), raw(cell.hi), hib, '', r.failed, ...t.seeds.map(() => ''), ...tail]);
        continue;
      }
      const s = cell.kind === 'stat' ? cell.stat : cell.diff;
      const iv = cell.kind === 'delta' ? cell.interval : undefined;
      records.push([
        ...base, raw(s.mean), raw(s.sd), s.n, raw(iv?.lo), raw(iv?.hi), hib, cell.kind === 'stat' ? String(cell.best) : '', r.failed,
        ...t.seeds.map((seed) => raw(cell.seeds[seed])), ...tail,
      ]);
    }
  }
  return stringify(records);
}
