/**
 * Frozen-backbone evaluation: whichever of the segmentation, depth and classification probes have data, on
 * features from one feature function (computed once per split). Returns the metrics record keyed
 * "<metric>,<filter>" plus each probe's chosen learning rate and validation scores.
 */
import type { VisionLabelInfo } from '../data/types.js';
import type { MetricValue } from '../../results/schema.js';
import { classificationProbe } from './classification.js';
import { DEFAULT_PROBE, probeSettings, type ProbeConfig, type ProbeName } from './config.js';
import { depthProbe } from './depth.js';
import { FeatureCache, type FeatureFn } from './features.js';
import { PROBE_HIGHER_IS_BETTER } from './metrics.js';
import { segmentationProbe, type ProbeOutcome, type ProbeSplits } from './segmentation.js';

/** Bumped whenever a probe's protocol or metric changes: results of different versions are incomparable. */
export const PROBE_EVAL_VERSION = 1;

/** Splits per probe (the same split objects may serve several probes; their features are computed once). */
export interface ProbeTasks {
  segmentation?: ProbeSplits;
  depth?: ProbeSplits;
  classification?: ProbeSplits;
}

export interface BackboneEvaluation {
  metrics: Record<string, MetricValue>;
  higherIsBetter: Record<string, boolean>;
  /** Per probe: chosen learning rate and every grid point's validation score. */
  choices: Record<string, { lr: number; validation: Record<string, number> }>;
  /** Wall time per probe (features included in the first probe that needs them), ms. */
  ms: Record<string, number>;
}

/**
 * `features` is one feature function for every probe, or one per probe (e.g. dense probes on more blocks than
 * classification); probes given the same function share its features, computed once per split.
 */
export function evaluateProbes(features: FeatureFn | Record<ProbeName, FeatureFn>, tasks: ProbeTasks, info: VisionLabelInfo, cfg: ProbeConfig = DEFAULT_PROBE): BackboneEvaluation {
  const caches = new Map<FeatureFn, FeatureCache>();
  const cacheFor = (probe: ProbeName): FeatureCache => {
    const fn = typeof features === 'function' ? features : features[probe];
    let c = caches.get(fn);
    if (!c) {
      c = new FeatureCache(fn);
      caches.set(fn, c);
    }
    return c;
  };
  const out: BackboneEvaluation = { metrics: {}, higherIsBetter: {}, choices: {}, ms: {} };
  const run = (name: string, f: () => ProbeOutcome): void => {
    const t0 = performance.now();
    const r = f();
    out.ms[name] = performance.now() - t0;
    Object.assign(out.metrics, r.metrics);
    out.choices[name] = { lr: r.lr, validation: r.validation };
  };
  if (tasks.segmentation) {
    if (info.segClasses < 1) throw new Error('segmentation probe requested but the data declares no segmentation classes');
    run('segmentation', () => segmentationProbe(cacheFor('segmentation'), tasks.segmentation as ProbeSplits, info.segClasses, probeSettings(cfg, 'segmentation')));
  }
  if (tasks.depth) run('depth', () => depthProbe(cacheFor('depth'), tasks.depth as ProbeSplits, info.maxDepth, probeSettings(cfg, 'depth')));
  if (tasks.classification) {
    if (info.numClasses < 2) throw new Error('classification probe requested but the data declares fewer than 2 classes');
    run('classification', () => classificationProbe(cacheFor('classification'), tasks.classification as ProbeSplits, info.numClasses, probeSettings(cfg, 'classification')));
  }
  for (const k of Object.keys(out.metrics)) out.higherIsBetter[k] = PROBE_HIGHER_IS_BETTER[k.split(',')[0] as string] as boolean;
  return out;
}
