/**
 * Display names only: how metric keys ("<metric>,<filter>"), arms, stream variants and diagnostics are
 * labelled and scaled in tables and plots. Nothing here decides which columns exist (that comes from the
 * cells' `metrics` keys and `higherIsBetter`); an unknown key is shown as itself with 3 decimals.
 */

export interface MetricDisplay {
  /** Column label, without the direction arrow. */
  label: string;
  /** Multiply for display (100 for fractions shown as percentages). Default 1. */
  scale: number;
  /** Decimals after scaling. Default 3. */
  digits: number;
}

/** Known metric names (before the comma). */
const METRIC_NAMES: Record<string, MetricDisplay> = {
  'pass@1': { label: 'Pass@1 (%)', scale: 100, digits: 1 },
  answer_nll: { label: 'answer NLL', scale: 1, digits: 3 },
  miou: { label: 'mIoU (%)', scale: 100, digits: 2 },
  rmse: { label: 'RMSE', scale: 1, digits: 4 },
  absrel: { label: 'AbsRel', scale: 1, digits: 4 },
  delta1: { label: 'δ1 (%)', scale: 100, digits: 2 },
  top1: { label: 'top-1 (%)', scale: 100, digits: 2 },
};

/** Known filters (after the comma); 'none' adds nothing to the label. */
const FILTER_NAMES: Record<string, string> = {
  'strict-match': 'strict',
  'flexible-extract': 'flexible',
  none: '',
};

export function metricDisplay(key: string): MetricDisplay {
  const [name = key, filter = 'none'] = key.split(',');
  const known = METRIC_NAMES[name];
  const f = filter in FILTER_NAMES ? FILTER_NAMES[filter] : filter;
  if (!known) return { label: f ? `${name} ${f}` : name, scale: 1, digits: 3 };
  // "Pass@1 (%)" + "strict" → "Pass@1 strict (%)": the filter goes before a trailing unit.
  const m = /^(.*?)( \(.+\))?$/.exec(known.label) as RegExpExecArray;
  return { ...known, label: f ? `${m[1]} ${f}${m[2] ?? ''}` : known.label };
}

/** Row labels of known arms (registered arm names); unknown arms are shown by their id. */
const ARM_NAMES: Record<string, string> = {
  baseline: 'Baseline',
  'v-pretraining': 'V-pretraining',
  'random-feedback': 'Random feedback',
  'uniform-topk': 'Uniform top-K',
  'self-distill': 'Self-distillation',
  'shuffled-feedback': 'Shuffled feedback',
  'schedule-matched': 'Schedule-matched',
  'oracle-gate': 'Oracle gate',
  'random-masks': 'Random masks',
};

export function armLabel(arm: string): string {
  return ARM_NAMES[arm] ?? arm;
}

/** Column-group labels of stream variants (ablation table). */
export const VARIANT_LABELS: Record<string, string> = {
  standard: 'standard stream',
  decontaminated: 'decontaminated stream',
};

export interface DiagnosticDisplay extends MetricDisplay {
  /** Key in a cell's `diagnostics`. */
  key: string;
  /**
   * The label when no cell records diagnostic `key` of `unless`: the key meant something else in older records
   * (`probe_r` was measured at a fixed small η before the probe matched the learner's step and recorded `probe_eta`).
   */
  older?: { unless: string; label: string };
}

/** Arm diagnostics shown (unranked) in the main table when any cell records them. */
export const DIAGNOSTICS: DiagnosticDisplay[] = [
  { key: 'value_mean', label: 'mean V', scale: 1, digits: 4 },
  { key: 'probe_r', label: 'probe r (real step)', scale: 1, digits: 3, older: { unless: 'probe_eta', label: 'probe r (fixed small η)' } },
  { key: 'probe_slope', label: 'probe slope', scale: 1, digits: 2 },
  { key: 'probe_r_first_order', label: 'probe r (η → 0)', scale: 1, digits: 3 },
  { key: 'designer_updates', label: 'designer updates', scale: 1, digits: 0 },
  { key: 'gate_mean', label: 'mean α', scale: 1, digits: 3 },
  { key: 'gate_wrong', label: 'α on wrong results', scale: 1, digits: 3 },
  { key: 'gate_other', label: 'α elsewhere', scale: 1, digits: 3 },
  { key: 'keep_ratio', label: 'keep ratio', scale: 1, digits: 3 },
  { key: 'mask_entropy', label: 'mask entropy', scale: 1, digits: 3 },
];
