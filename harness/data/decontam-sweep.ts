/**
 * The measurement behind the decontamination defaults: precision and recall of the screen against the embedded
 * generator's leak labels, by leak kind, over word n-gram sizes, Jaccard thresholds and LSH band shapes.
 * Run: npx tsx harness/data/decontam-sweep.ts [--stream 20000] [--leak 0.05] [--train]
 * (`--train` also screens against GSM8K train, as `decontamination.screenTrain` does).
 */
import { decontaminateStream, decontamReport, jaccard, shingles, type ScreenConfig } from './decontam.js';
import { DEFAULT_EMBEDDED, generateEmbedded } from './synth/embedded.js';
import { LEAK_KINDS } from './synth/leaks.js';

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
}

const fmt = (x: number | null): string => (x === null ? '  -  ' : x.toFixed(3));

function main(): void {
  const streamSize = arg('--stream', 20000);
  const leakFraction = arg('--leak', 0.05);
  const withTrain = process.argv.includes('--train');
  const d = generateEmbedded({ ...DEFAULT_EMBEDDED, streamSize, leakFraction });
  const refs = [...d.test.map((t) => t.question), ...(withTrain ? d.train.map((t) => t.question) : [])];
  const stream = d.cpt.map((r) => r.problem);
  console.log(`stream ${stream.length} rows, ${d.cpt.filter((r) => r.vpt_leak_kind).length} labelled leaks; ${refs.length} references${withTrain ? ' (test + train)' : ' (test)'}`);
  const kinds = [...LEAK_KINDS];
  console.log(`\nexact screen (every pair compared): n, threshold, removed %, precision, recall | recall by kind: ${kinds.join(' ')}`);
  for (const n of [1, 2, 3, 4, 5]) {
    const refSets = refs.map((r) => shingles(r, n));
    const best = stream.map((t) => {
      const set = shingles(t, n);
      let m = 0;
      for (const r of refSets) m = Math.max(m, jaccard(set, r));
      return m;
    });
    for (const th of [0.3, 0.4, 0.5, 0.6, 0.7, 0.8]) {
      const removed = best.flatMap((j, i) => (j >= th ? [i] : []));
      const rep = decontamReport(removed, d.cpt);
      const byKind = kinds.map((k) => fmt(rep.byKind[k]?.recall ?? null)).join(' ');
      console.log(`n=${n} t=${th.toFixed(1)}  removed ${(100 * rep.removedFraction).toFixed(2).padStart(6)}%  P ${fmt(rep.precision)}  R ${fmt(rep.recall)} | ${byKind}`);
    }
  }
  console.log('\nMinHash LSH screen (what the harness runs): n, threshold, permutations, bands');
  for (const n of [2, 3]) {
    for (const th of [0.4, 0.5]) {
      for (const [perm, bands] of [[128, 32], [128, 64], [128, 16], [256, 64]] as const) {
        const cfg: ScreenConfig = { ngram: n, threshold: th, permutations: perm, bands };
        const r = decontaminateStream(stream, refs, cfg);
        const rep = decontamReport(r.removed, d.cpt);
        const byKind = kinds.map((k) => fmt(rep.byKind[k]?.recall ?? null)).join(' ');
        console.log(`n=${n} t=${th.toFixed(1)} ${perm}/${bands} (r=${perm / bands})  removed ${(100 * rep.removedFraction).toFixed(2).padStart(6)}%  P ${fmt(rep.precision)}  R ${fmt(rep.recall)}  ${r.ms.toFixed(0)} ms | ${byKind}`);
      }
    }
  }
}

main();
