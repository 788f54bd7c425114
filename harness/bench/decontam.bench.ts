/** Micro-benchmark (tinybench): the decontamination screen of 10,000 stream items against the references. */
import { Bench } from 'tinybench';
import { decontaminateStream } from '../data/decontam.js';
import { DEFAULT_EMBEDDED, generateEmbedded } from '../data/synth/embedded.js';
import type { LanguageSuite } from '../suite/schema.js';

export interface MicroRow {
  name: string;
  meanMs: number;
  p50Ms: number;
  samples: number;
}

/** `references` are question texts (default: the embedded train and test problems). */
export async function benchDecontamination(suite: LanguageSuite, references?: string[], quick = false): Promise<MicroRow[]> {
  const gen = suite.data.kind === 'embedded' ? (({ kind: _k, ...rest }) => rest)(suite.data) : DEFAULT_EMBEDDED;
  const d = generateEmbedded({ ...gen, baseSize: 10, streamSize: 1500 });
  const refs = references ?? [...d.train.map((x) => x.question), ...d.test.map((x) => x.question)];
  const stream = Array.from({ length: 10_000 }, (_, i) => (d.cpt[i % d.cpt.length] as { problem: string }).problem + ` item ${i}`);
  const bench = new Bench({ iterations: quick ? 3 : 10, warmupIterations: 1, time: 0 });
  bench.add(`decontaminate 10,000 stream items against ${refs.length} references`, () => {
    decontaminateStream(stream, refs, suite.decontamination);
  });
  await bench.run();
  return bench.tasks.map((t) => {
    const r = t.result as { latency?: { mean: number; p50?: number; samplesCount?: number } } | undefined;
    return { name: t.name, meanMs: r?.latency?.mean ?? NaN, p50Ms: r?.latency?.p50 ?? NaN, samples: r?.latency?.samplesCount ?? 0 };
  });
}
