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
  pixel_acc: { label: 'pixel acc. (%)', scale: 100, digits: 2 },
};

/**
 * Which metrics a compact table shows first when it cannot show them all: the paper's headline numbers (GSM8K
 * Pass@1 and the answer NLL; ADE20K mIoU, NYUv2 RMSE, ImageNet top-1), then the rest. Unknown metrics come after
 * these, in the order the cells record them.
 */
const METRIC_RANK: Record<string, number> = { 'pass@1': 0, answer_nll: 1, miou: 0, rmse: 1, top1: 2, pixel_acc: 3, absrel: 4, delta1: 5 };

export function metricRank(key: string): number {
  return METRIC_RANK[key.split(',')[0] ?? key] ?? Number.POSITIVE_INFINITY;
}

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

/**
 * Arm diagnostics of the diagnostics table (unranked), when any cell records them, in the order the table takes
 * them while it has room: the designer's value and gate, the probe, its update count; then the rest.
 */
export const DIAGNOSTICS: DiagnosticDisplay[] = [
  { key: 'value_mean', label: 'mean V', scale: 1, digits: 4 },
  { key: 'gate_wrong', label: 'α on wrong results', scale: 1, digits: 3 },
  { key: 'gate_other', label: 'α elsewhere', scale: 1, digits: 3 },
  { key: 'probe_r', label: 'probe r (real step)', scale: 1, digits: 3, older: { unless: 'probe_eta', label: 'probe r (fixed small η)' } },
  { key: 'probe_slope', label: 'probe slope', scale: 1, digits: 2 },
  { key: 'designer_updates', label: 'designer updates', scale: 1, digits: 0 },
  { key: 'keep_ratio', label: 'keep ratio', scale: 1, digits: 3 },
  { key: 'mask_entropy', label: 'mask entropy', scale: 1, digits: 3 },
  { key: 'gate_mean', label: 'mean α', scale: 1, digits: 3 },
  { key: 'probe_r_first_order', label: 'probe r (η → 0)', scale: 1, digits: 3 },
  { key: 'gate_wrong_meta', label: 'α on wrong (meta batches)', scale: 1, digits: 3 },
  { key: 'gate_other_meta', label: 'α elsewhere (meta batches)', scale: 1, digits: 3 },
  { key: 'probe_alpha_r', label: 'α-part probe r', scale: 1, digits: 3 },
  { key: 'probe_alpha_slope', label: 'α-part probe slope', scale: 1, digits: 2 },
];

/** Keys of a suite's `model` that give its depth and width, as the tasks name them (GPT: nLayer, nEmbd; ViT: depth, width). */
const LAYER_KEYS = ['nLayer', 'nLayers', 'depth', 'layers', 'numLayers'];
const WIDTH_KEYS = ['nEmbd', 'width', 'dModel', 'hiddenSize', 'hidden'];

/** A model's shape from the suite's recorded `model` ("2L × 128": layers × width), or undefined when it names neither. */
export function modelShape(model: unknown): string | undefined {
  if (typeof model !== 'object' || model === null) return undefined;
  const m = model as Record<string, unknown>;
  // A pretrained decoder: its folder's name (e.g. Qwen2.5-0.5B), and LoRA's rank when it trains adapters.
  if (m.kind === 'hf' && typeof m.path === 'string') {
    const name = m.path.replace(/[\\/]+$/, '').split(/[\\/]/).pop() ?? m.path;
    const lora = typeof m.trainable === 'object' && m.trainable !== null ? (m.trainable as { lora?: { r?: number } }).lora : undefined;
    return lora ? `${name}, LoRA r ${lora.r ?? '?'}` : `${name}, full`;
  }
  const pick = (keys: string[]): number | undefined => keys.map((k) => m[k]).find((v): v is number => typeof v === 'number');
  const layers = pick(LAYER_KEYS);
  const width = pick(WIDTH_KEYS);
  if (layers === undefined && width === undefined) return undefined;
  return [layers === undefined ? undefined : `${layers}L`, width].filter((x) => x !== undefined).join(' × ');
}
