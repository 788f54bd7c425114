/**
 * The measurement behind the decontamination defaults: precision and recall of the screen against known leaks,
 * by leak kind, over word n-gram sizes, Jaccard thresholds and LSH band shapes.
 *  1. The embedded stream (its generator labels every leaked copy of a test problem with its kind), exact
 *     Jaccard against every test problem, then the MinHash LSH screen the harness runs.
 *  2. Real text, when ../shared/data is present: GSM8K train questions (non-leaks) plus copies of GSM8K test
 *     questions edited the same ways (names found as capitalised words inside sentences), screened by the LSH
 *     against GSM8K test + MATH test.
 * Run: npx tsx harness/language/data/decontam-sweep.ts [--stream 50000] [--leak 0.02] [--train] [--real-only]
 * (`--train` also screens the embedded stream against its train split, as `decontamination.screenTrain` does).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Rng } from '../../engine/rng.js';
import { REPO_ROOT } from '../../results/version.js';
import { decontaminateStream, decontamReport, jaccard, shingles, type DecontamReport, type ScreenConfig } from './decontam.js';
import { loadGsm8k } from './gsm8k.js';
import { loadMathProblems } from './sources.js';
import { DEFAULT_EMBEDDED, generateEmbedded } from './synth/embedded.js';
import { WORDS } from './synth/families.js';
import { LEAK_KINDS, LEAK_PREFIXES, reorderSentences, type LeakKind } from './synth/leaks.js';

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
}

const f3 = (x: number | null | undefined): string => (x === null || x === undefined ? '  -  ' : x.toFixed(3));

/** One line: removed share, share of non-leaks removed, precision, recall, F1, recall by kind. */
function line(rep: DecontamReport, kinds: readonly string[]): string {
  const leaks = Object.values(rep.byKind).reduce((a, k) => a + k.leaks, 0);
  const fpRate = rep.falsePositives / Math.max(1, rep.screened - leaks);
  const p = rep.precision ?? 0, r = rep.recall ?? 0;
  const f1 = p + r > 0 ? (2 * p * r) / (p + r) : 0;
  const byKind = kinds.map((k) => f3(rep.byKind[k]?.recall)).join(' ');
  return `removed ${(100 * rep.removedFraction).toFixed(2).padStart(6)}%  non-leaks removed ${(100 * fpRate).toFixed(2).padStart(5)}%  P ${f3(rep.precision)}  R ${f3(rep.recall)}  F1 ${f1.toFixed(3)} | ${byKind}`;
}

const THRESHOLDS = [0.3, 0.4, 0.5, 0.6, 0.7, 0.8];
const SHAPES = [[128, 64], [128, 32], [128, 16]] as const;

function embedded(): void {
  const streamSize = arg('--stream', 50000);
  const leakFraction = arg('--leak', 0.02);
  const withTrain = process.argv.includes('--train');
  const d = generateEmbedded({ ...DEFAULT_EMBEDDED, streamSize, leakFraction });
  const refs = [...d.test.map((t) => t.question), ...(withTrain ? d.train.map((t) => t.question) : [])];
  const stream = d.cpt.map((r) => r.problem);
  console.log(`## Embedded stream: ${stream.length} rows, ${d.cpt.filter((r) => r.vpt_leak_kind).length} labelled leaks; ${refs.length} references${withTrain ? ' (test + train)' : ' (test)'}`);
  console.log(`recall by kind: ${LEAK_KINDS.join(' ')}\n\nexact Jaccard against every reference:`);
  for (const n of [1, 2, 3, 4, 5]) {
    const refSets = refs.map((r) => shingles(r, n));
    const best = stream.map((t) => {
      const set = shingles(t, n);
      let m = 0;
      for (const r of refSets) m = Math.max(m, jaccard(set, r));
      return m;
    });
    for (const th of THRESHOLDS) {
      const rep = decontamReport(best.flatMap((j, i) => (j >= th ? [i] : [])), d.cpt);
      console.log(`n=${n} t=${th.toFixed(1)}  ${line(rep, LEAK_KINDS)}`);
    }
  }
  console.log('\nMinHash LSH (what the harness runs), permutations/bands:');
  for (const n of [2, 3]) {
    for (const th of [0.5, 0.6, 0.7]) {
      for (const [perm, bands] of SHAPES) {
        const cfg: ScreenConfig = { ngram: n, threshold: th, permutations: perm, bands };
        const r = decontaminateStream(stream, refs, cfg);
        console.log(`n=${n} t=${th.toFixed(1)} ${perm}/${bands} ${String(Math.round(r.ms)).padStart(5)} ms  ${line(decontamReport(r.removed, d.cpt), LEAK_KINDS)}`);
      }
    }
  }
}

/** Generic versions of the generator's edits, for real problem text. */
function editReal(text: string, kind: LeakKind, rng: Rng): string | undefined {
  const edits = new Set(kind.split('+'));
  let out = text;
  if (edits.has('names')) {
    // Capitalised words inside a sentence (not after . ? !) are taken as names.
    const names = [...new Set([...out.matchAll(/(?<![.?!]\s|^)\b([A-Z][a-z]+)\b/g)].map((m) => m[1] as string))];
    if (names.length === 0) return undefined;
    for (const nm of names) {
      const to = rng.pick(WORDS.name.filter((x) => x !== nm));
      out = out.replace(new RegExp(`\\b${nm}\\b`, 'g'), to);
    }
  }
  if (edits.has('numbers')) {
    if (!/\d/.test(out)) return undefined;
    const map = new Map<string, string>();
    out = out.replace(/\d+/g, (m) => {
      if (!map.has(m)) map.set(m, String(Math.max(0, Number(m) + rng.pick([-3, -2, -1, 1, 2, 3, 5, 10]))));
      return map.get(m) as string;
    });
  }
  if (edits.has('reorder')) {
    const again = reorderSentences(out, rng);
    if (again === out) return undefined;
    out = again;
  }
  if (edits.has('prefix')) out = rng.pick(LEAK_PREFIXES) + out;
  return out;
}

function real(): void {
  const shared = join(REPO_ROOT, '..', 'shared', 'data');
  if (!existsSync(join(shared, 'gsm8k', 'test.jsonl'))) {
    console.log('\n(real-text check skipped: ../shared/data not found)');
    return;
  }
  const train = loadGsm8k(join(shared, 'gsm8k', 'train.jsonl')).map((x) => x.question);
  const test = loadGsm8k(join(shared, 'gsm8k', 'test.jsonl')).map((x) => x.question);
  const math = loadMathProblems(join(shared, 'math', 'math', 'test.jsonl'));
  const rng = new Rng(7);
  const rows: { text: string; vpt_leak_kind?: string }[] = train.map((text) => ({ text }));
  for (const kind of LEAK_KINDS) {
    let made = 0;
    while (made < 60) {
      const e = editReal(rng.pick(test), kind, rng);
      if (e === undefined) continue;
      rows.push({ text: e, vpt_leak_kind: kind });
      made++;
    }
  }
  const refs = [...test, ...math];
  console.log(`\n## Real text: ${train.length} GSM8K train questions (non-leaks) + ${rows.length - train.length} edited GSM8K test copies; ${refs.length} references (GSM8K test + MATH test)`);
  const runs: [number, number, number][] = [
    ...[1, 2, 3, 4, 5].map((n) => [n, 128, 64] as [number, number, number]),
    ...SHAPES.filter(([, b]) => b !== 64).map(([p, b]) => [2, p, b] as [number, number, number]),
  ];
  for (const [n, perm, bands] of runs) {
    for (const th of THRESHOLDS) {
      const r = decontaminateStream(rows.map((x) => x.text), refs, { ngram: n, threshold: th, permutations: perm, bands });
      console.log(`n=${n} t=${th.toFixed(1)} ${perm}/${bands} ${String(Math.round(r.ms)).padStart(5)} ms  ${line(decontamReport(r.removed, rows), LEAK_KINDS)}`);
    }
  }
}

if (!process.argv.includes('--real-only')) embedded();
real();
