/**
 * `vpt publish [--check]`: regenerates reports/<name>/ (the paper-style tables in md, csv, tex) from every
 * baselines/<name>.json, so published numbers always come from recorded results, never retyped. `--check`
 * writes nothing and exits 1 when a published file is stale or missing.
 */
import type { Command } from 'commander';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { baselineResultSet, readBaseline } from '../regress/baseline.js';
import { writeFileAtomic } from '../results/atomic.js';
import { renderTables } from '../report/render.js';
import { allTables } from '../report/tables.js';
import { REPO_ROOT } from '../results/version.js';
import { guard } from './guard.js';

/** Published file (relative to the reports folder) → content, from every baseline in `baselinesDir`. */
export function publishedFiles(baselinesDir: string): Map<string, string> {
  const out = new Map<string, string>();
  const files = existsSync(baselinesDir) ? readdirSync(baselinesDir).filter((f) => f.endsWith('.json')).sort() : [];
  for (const f of files) {
    const path = join(baselinesDir, f);
    const b = readBaseline(path);
    // The source names the repository path, not this machine's, so the output is the same on every checkout.
    const set = baselineResultSet(b, `baselines/${f}`);
    for (const [name, text] of renderTables(allTables(set))) out.set(join(b.name, name), text);
  }
  return out;
}

/** Published files that differ from (or are missing in) `reportsDir`. */
export function staleReports(baselinesDir: string, reportsDir: string): string[] {
  return [...publishedFiles(baselinesDir)].filter(([name, text]) => {
    const f = join(reportsDir, name);
    return !existsSync(f) || readFileSync(f, 'utf8') !== text;
  }).map(([name]) => name);
}

export function registerPublish(program: Command): void {
  program
    .command('publish')
    .description('regenerate reports/<name>/ tables from every baselines/<name>.json')
    .option('--baselines <dir>', 'baselines folder', join(REPO_ROOT, 'baselines'))
    .option('--out <dir>', 'reports folder', join(REPO_ROOT, 'reports'))
    .option('--check', 'write nothing; exit 1 if a published file is stale', false)
    .action(
      guard((o: { baselines: string; out: string; check: boolean }) => {
        const baselines = resolve(o.baselines);
        const out = resolve(o.out);
        if (o.check) {
          const stale = staleReports(baselines, out);
          if (stale.length) {
            process.stderr.write(`vpt: stale in ${out}: ${stale.join(', ')} (run: npm run reports)\n`);
            process.exitCode = 1;
          } else process.stdout.write(`${out} is up to date\n`);
          return;
        }
        const files = publishedFiles(baselines);
        for (const [name, text] of files) writeFileAtomic(join(out, name), text);
        process.stdout.write(`wrote ${files.size} files under ${relative(process.cwd(), out) || out}\n`);
      }),
    );
}
