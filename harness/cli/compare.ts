/**
 * `vpt compare <baseline> <results…>`: the regression gate. Prints one verdict per arm and metric; exits 0
 * when nothing regressed (or without --fail-on-regression), 1 when something regressed with
 * --fail-on-regression, 2 when it could not compare (bad input, nothing comparable).
 */
import type { Command } from 'commander';
import { resolve } from 'node:path';
import { baselineResultSet, readBaseline } from '../regress/baseline.js';
import { compareResults, formatRow, type Comparison } from '../regress/compare.js';
import { compareConfigOf } from '../regress/config.js';
import { joinResultSets, provenance, readResultsDir, type ResultSet } from '../report/read.js';
import { writeJsonAtomic } from '../results/atomic.js';
import { guard } from './guard.js';

function describeSet(s: ResultSet): string {
  const p = provenance(s);
  const dirty = p.gitSha.includes('+dirty') ? ' (uncommitted changes: a version of its own)' : '';
  return `harness ${p.harnessVersion}, git ${p.gitSha}${dirty}, config ${p.configHash}, ${p.backend}`;
}

export function renderComparison(c: Comparison): string {
  const head = ['arm', 'metric', 'verdict', 'baseline', 'results', 'change [95% CI]', 'p (Holm)', 'note'];
  const body = c.rows.map((r) => {
    const f = formatRow(r);
    return [r.arm, r.metric, r.verdict, f.baseline, f.results, f.change, r.pAdjusted === undefined ? '' : r.pAdjusted.toPrecision(2), r.note ?? ''];
  });
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => (b[i] as string).length)));
  const line = (cells: string[]): string => cells.map((x, i) => (i === cells.length - 1 ? x : x.padEnd(widths[i] as number))).join('  ').trimEnd();
  const k = c.counts;
  return [
    line(head),
    ...body.map(line),
    '',
    `${k.regressed} regressed, ${k.improved} improved, ${k['within noise']} within noise, ${k.new} new, ${k.missing} missing, ${k.incomparable} incomparable`,
  ].join('\n');
}

export function registerCompare(program: Command): void {
  program
    .command('compare')
    .description('compare results with a recorded baseline: improved / within noise / regressed / new / missing / incomparable')
    .argument('<baseline>', 'baseline file (baselines/<name>.json)')
    .argument('<results...>', 'results folders of the same suite (shards are joined)')
    .option('--fail-on-regression', 'exit 1 when anything regressed', false)
    .option('--json <file>', 'also write the verdicts as JSON')
    .action(
      guard((baselineFile: string, inputs: string[], o: { failOnRegression: boolean; json?: string }) => {
        const base = baselineResultSet(readBaseline(baselineFile), resolve(baselineFile));
        const results = joinResultSets(inputs.map((i) => readResultsDir(i)));
        for (const w of results.warnings ?? []) process.stderr.write(`vpt: warning: ${w}\n`);
        // Tolerances as the results' suite declares them (a new version may change them), else as recorded.
        const cfg = compareConfigOf(results.suiteConfig?.compare !== undefined ? results.suiteConfig : base.suiteConfig, results.suiteConfig?.compare !== undefined ? `${inputs[0]}/suite.json` : baselineFile);
        const c = compareResults(base, results, cfg);
        process.stdout.write(`compare ${c.suite}\n  baseline ${baselineFile}: ${describeSet(base)}\n  results  ${inputs.join(', ')}: ${describeSet(results)}\n\n`);
        process.stdout.write(renderComparison(c) + '\n');
        if (o.json) writeJsonAtomic(resolve(o.json), { suite: c.suite, counts: c.counts, rows: c.rows, settings: cfg });
        if (c.nothingComparable) {
          process.stderr.write(`vpt: nothing could be compared (every arm and metric is new, missing or incomparable)\n`);
          process.exitCode = 2;
        } else if (o.failOnRegression && c.counts.regressed > 0) {
          process.stderr.write(`vpt: ${c.counts.regressed} regression(s)\n`);
          process.exitCode = 1;
        }
      }),
    );
}
