/**
 * α on wrong tokens against α elsewhere over training, per arm of a results folder (issue 24's diagnosis): the
 * designer's gate windows (curves.designer, the learner steps between meta steps) averaged over seeds in each
 * quarter of training, then the whole run and the meta steps' own batches, with the α-part probe's r at the last
 * probe point. Prints a markdown table.
 *
 *   npx tsx scripts/gate-over-training.ts <results folder>
 */
import { readResultsDir, type CellRecord } from '../harness/report/read.js';

interface GatePoint {
  step: number;
  gateWrong?: number | null;
  gateOther?: number | null;
}

const fmt = (x: number): string => (Number.isFinite(x) ? x.toFixed(3) : 'n/a');
const mean = (xs: number[]): number => {
  const f = xs.filter(Number.isFinite);
  return f.length ? f.reduce((a, b) => a + b, 0) / f.length : NaN;
};

function quarterMeans(cells: CellRecord[], steps: number): [number, number][] {
  return [0, 1, 2, 3].map((q) => {
    const inQ = (p: GatePoint): boolean => p.step > (q * steps) / 4 && p.step <= ((q + 1) * steps) / 4;
    const per = cells.map((c) => {
      const pts = ((c.curves as { designer?: GatePoint[] } | undefined)?.designer ?? []).filter(inQ);
      return [mean(pts.map((p) => p.gateWrong ?? NaN)), mean(pts.map((p) => p.gateOther ?? NaN))] as [number, number];
    });
    return [mean(per.map((x) => x[0])), mean(per.map((x) => x[1]))];
  });
}

const dir = process.argv[2];
if (!dir) {
  console.error('usage: npx tsx scripts/gate-over-training.ts <results folder>');
  process.exit(2);
}
const set = readResultsDir(dir);
const steps = Math.max(...set.cells.map((c) => c.steps?.done ?? 0));
console.log(`α on wrong / α elsewhere (${set.suite}, seeds ${set.seeds.join(', ')}; quarters of ${steps} learner steps)\n`);
console.log('| arm | 1st quarter | 2nd | 3rd | 4th | whole run | meta batches | α-part probe r |');
console.log('| --- | --- | --- | --- | --- | --- | --- | --- |');
for (const a of set.arms) {
  const cells = set.cells.filter((c) => c.armId === a.id && c.status === 'completed');
  if (!cells.length) continue;
  const d = (k: string): number => mean(cells.map((c) => c.diagnostics[k] ?? NaN));
  const quarters = quarterMeans(cells, steps).map(([w, o]) => `${fmt(w)} / ${fmt(o)}`);
  console.log(`| ${a.id} | ${quarters.join(' | ')} | ${fmt(d('gate_wrong'))} / ${fmt(d('gate_other'))} | ${fmt(d('gate_wrong_meta'))} / ${fmt(d('gate_other_meta'))} | ${fmt(d('probe_alpha_r'))} |`);
}
