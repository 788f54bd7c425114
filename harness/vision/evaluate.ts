/** Frozen-backbone evaluation of a DINO model under a suite's `eval` settings. */
import type { VisionData } from '../data/vision/load.js';
import { evaluateProbes, type BackboneEvaluation, type ProbeTasks } from '../eval/probes/evaluate.js';
import type { ProbeConfig, ProbeName } from '../eval/probes/config.js';
import { PROBE_HIGHER_IS_BETTER } from '../eval/probes/metrics.js';
import { backboneFeatures } from './features.js';
import type { DinoModel } from './model.js';
import type { VisionEvalConfig } from './schema.js';

export function probeConfig(e: VisionEvalConfig): ProbeConfig {
  return {
    lrGrid: e.lrGrid, ridgeGrid: e.ridgeGrid, segmentationSteps: e.segmentationSteps, classificationSteps: e.classificationSteps,
    batchImages: e.batchImages, useMeanPatch: e.useMeanPatch, bootstrap: e.bootstrap, seed: e.seed,
  };
}

/** The probes `e.probes` asks for that the data can feed. */
export function probeTasks(data: VisionData, e: VisionEvalConfig): ProbeTasks {
  const t: ProbeTasks = {};
  for (const name of e.probes) {
    const set = data.probes[name];
    if (set) t[name] = set;
  }
  return t;
}

/**
 * Metrics keyed "<metric>,none" for the chosen backbone (teacher or student) of `model`; `fixed` gives probes
 * whose hyperparameter is not searched (default: every probe searches its grid on validation).
 */
export function evaluateBackbone(model: DinoModel, data: VisionData, e: VisionEvalConfig, fixed?: ProbeConfig['fixed']): BackboneEvaluation {
  const tasks = probeTasks(data, e);
  const cfg = { ...probeConfig(e), fixed };
  // Probes that read the same blocks share one feature pass; each group is evaluated as a whole.
  const groups = new Map<number, ProbeTasks>();
  for (const name of PROBE_ORDER) {
    const set = tasks[name];
    if (!set) continue;
    const n = probeLayers(e, name);
    groups.set(n, { ...groups.get(n), [name]: set });
  }
  const parts = [...groups].map(([n, t]) => evaluateProbes(backboneFeatures(model, e.backbone, 64, n), t, data.info, cfg));
  if (parts.length === 1) return parts[0] as BackboneEvaluation;
  // Merged in the probes' fixed order, so a record's keys do not depend on how the probes were grouped.
  const out: BackboneEvaluation = { metrics: {}, higherIsBetter: {}, choices: {}, ms: {} };
  for (const name of PROBE_ORDER) {
    const part = parts.find((p) => name in p.choices);
    if (!part) continue;
    out.choices[name] = part.choices[name] as BackboneEvaluation['choices'][string];
    out.ms[name] = part.ms[name] as number;
  }
  const rank = (key: string): number => METRIC_ORDER.indexOf(key.split(',')[0] as string);
  const merged = parts.flatMap((p) => Object.keys(p.metrics).map((key) => ({ key, p })));
  for (const { key, p } of merged.sort((a, b) => rank(a.key) - rank(b.key))) {
    out.metrics[key] = p.metrics[key] as BackboneEvaluation['metrics'][string];
    out.higherIsBetter[key] = p.higherIsBetter[key] as boolean;
  }
  return out;
}

const PROBE_ORDER: readonly ProbeName[] = ['segmentation', 'depth', 'classification'];
const METRIC_ORDER = Object.keys(PROBE_HIGHER_IS_BETTER);

/** How many final blocks a probe reads under `eval.layers`. */
export function probeLayers(e: VisionEvalConfig, probe: ProbeName): number {
  return typeof e.layers === 'number' ? e.layers : e.layers[probe];
}
