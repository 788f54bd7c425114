/**
 * Vega-Lite specs of the report's plots, built from the cells' curves and metrics: training loss per arm
 * with a band over seeds, the designer's value V and gate α over training (designer arms only), the
 * downstream NLL during training, and per-metric bars with error bars and the seeds as points. A plot whose
 * data no cell recorded is left out (and listed as skipped, with why).
 */
import type { TopLevelSpec } from 'vega-lite';
import { metricDisplay } from './display.js';
import type { ResultSet } from './read.js';
import { direction, metricKeys } from './cells.js';

export interface PlotSpec {
  /** File stem and figure id. */
  name: string;
  title: string;
  /** One sentence under the plot: what is drawn and what the band or bar means. */
  caption: string;
  spec: TopLevelSpec;
}

export interface PlotPlan {
  plots: PlotSpec[];
  /** Plots left out, each with the reason. */
  skipped: string[];
}

type Datum = Record<string, string | number>;

const WIDTH = 420;
const HEIGHT = 240;

const num = (x: number | null | undefined): x is number => typeof x === 'number' && Number.isFinite(x);

/**
 * The arm colour scale shared by every plot (the domain is every declared arm, so an arm keeps its colour
 * across the page); the legend lists only the arms this plot has data for.
 */
function armColor(set: ResultSet, data: readonly Datum[], legend: boolean): Record<string, unknown> {
  const present = set.arms.map((a) => a.id).filter((id) => data.some((d) => d.arm === id));
  return {
    field: 'arm',
    type: 'nominal',
    title: 'arm',
    scale: { domain: set.arms.map((a) => a.id), scheme: 'tableau10' },
    legend: legend ? { values: present, symbolType: 'stroke', symbolStrokeWidth: 2.5, symbolOpacity: 1, labelLimit: 220 } : null,
  };
}

/** Mean line over seeds with a ±1 sd band, one colour per arm (and a dash per series when given). */
function bandedLines(set: ResultSet, data: Datum[], y: string, yTitle: string, series?: string, logScale = false): TopLevelSpec {
  const dash = series ? { strokeDash: { field: series, type: 'nominal', title: 'series', legend: { symbolStrokeWidth: 1.5, labelLimit: 220 } } } : {};
  const detail = series ? { detail: { field: series, type: 'nominal' } } : {};
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    width: WIDTH,
    height: HEIGHT,
    data: { values: data },
    encoding: { x: { field: 'step', type: 'quantitative', title: 'learner step' } },
    layer: [
      {
        mark: { type: 'errorband', extent: 'stdev', opacity: 0.18 },
        encoding: { y: { field: y, type: 'quantitative', title: yTitle, scale: logScale ? { type: 'log' } : { zero: false } }, color: armColor(set, data, true), ...detail },
      },
      {
        mark: { type: 'line', strokeWidth: 1.6 },
        encoding: { y: { aggregate: 'mean', field: y, type: 'quantitative', title: yTitle }, color: armColor(set, data, true), ...dash },
      },
    ],
  } as TopLevelSpec;
}

function lossPlot(set: ResultSet): PlotSpec | string {
  const data: Datum[] = [];
  for (const c of set.cells) {
    if (c.status !== 'completed') continue;
    for (const p of c.curves?.train ?? []) if (num(p.loss)) data.push({ arm: c.armId, seed: c.seed, step: p.step, loss: p.loss });
  }
  if (!data.length) return 'training loss: no cell recorded curves.train';
  return {
    name: 'train-loss',
    title: 'Training loss per arm',
    caption: 'Learner loss against its own targets (one-hot or the arm’s soft targets, so levels differ by arm), mean over seeds with a ±1 sd band; log scale.',
    spec: bandedLines(set, data, 'loss', 'training loss', undefined, true),
  };
}

function designerPlots(set: ResultSet): (PlotSpec | string)[] {
  const value: Datum[] = [];
  const gate: Datum[] = [];
  const cos: Datum[] = [];
  const probe: Datum[] = [];
  // Vision designers: their masks' keep ratio and entropy at each meta step.
  const mask: Datum[] = [];
  for (const c of set.cells) {
    if (c.status !== 'completed') continue;
    for (const p of c.curves?.probe ?? []) {
      if (num(p.r)) probe.push({ arm: c.armId, seed: c.seed, step: p.step, series: 'at the learner\'s step size', r: p.r });
      if (num(p.rFirstOrder)) probe.push({ arm: c.armId, seed: c.seed, step: p.step, series: 'at η → 0', r: p.rFirstOrder });
    }
    for (const p of c.curves?.designer ?? []) {
      if (num(p.value)) value.push({ arm: c.armId, seed: c.seed, step: p.step, V: p.value });
      if (num(p.cos)) cos.push({ arm: c.armId, seed: c.seed, step: p.step, cos: p.cos });
      if (num(p.gate)) gate.push({ arm: c.armId, seed: c.seed, step: p.step, series: 'α (all positions)', alpha: p.gate });
      if (num(p.gateWrong)) gate.push({ arm: c.armId, seed: c.seed, step: p.step, series: 'α on wrong results', alpha: p.gateWrong });
      if (num(p.gateOther)) gate.push({ arm: c.armId, seed: c.seed, step: p.step, series: 'α elsewhere', alpha: p.gateOther });
      if (num(p.keep)) mask.push({ arm: c.armId, seed: c.seed, step: p.step, series: 'keep ratio', v: p.keep });
      if (num(p.entropy)) mask.push({ arm: c.armId, seed: c.seed, step: p.step, series: 'mask entropy (nats)', v: p.entropy });
    }
  }
  const out: (PlotSpec | string)[] = [];
  if (value.length) {
    out.push({
      name: 'designer-value',
      title: 'Value V over training (designer arms)',
      caption: 'The designer’s objective V at each meta step, mean over seeds with a ±1 sd band.',
      spec: bandedLines(set, value, 'V', 'value V'),
    });
  } else out.push('value V: no cell recorded curves.designer');
  if (gate.length) {
    const series = new Set(gate.map((d) => d.series)).size > 1 ? 'series' : undefined;
    out.push({
      name: 'designer-gate',
      title: 'Gate α over training (designer arms)',
      caption: 'Mean mixing weight α of the designer’s targets at each meta step, mean over seeds with a ±1 sd band' + (series ? '; dashes separate positions in wrong worked results from the rest.' : '.'),
      spec: bandedLines(set, gate, 'alpha', 'gate α', series),
    });
  } else if (!mask.length) out.push('gate α: no cell recorded curves.designer');
  if (cos.length) {
    out.push({
      name: 'designer-cos',
      title: 'cos(g_down, g_pre) over training (designer arms)',
      caption: 'Cosine between the designer’s downstream gradient and the learner’s own gradient over S at each meta step, mean over seeds with a ±1 sd band.',
      spec: bandedLines(set, cos, 'cos', 'cos(g_down, g_pre)'),
    });
  } else if (!mask.length) out.push('cos(g_down, g_pre): no cell recorded curves.designer with cos');
  if (probe.length) {
    out.push({
      name: 'probe-r',
      title: 'One-step probe over training (designer arms)',
      caption: 'Pearson r of realised on predicted decrease of the downstream loss over the probe batches, at the size the learner really moved (solid) and at η → 0 (dashed), mean over seeds with a ±1 sd band.',
      spec: bandedLines(set, probe, 'r', 'probe r', 'series'),
    });
  } else if (!mask.length) out.push('probe r: no cell recorded curves.probe');
  if (mask.length) {
    out.push({
      name: 'designer-masks',
      title: 'Mask keep ratio and entropy over training (vision designer arms)',
      caption: 'Mean μ and mean binary entropy of the designer’s masks on each meta step’s batch, mean over seeds with a ±1 sd band; dashes separate the two.',
      spec: bandedLines(set, mask, 'v', 'keep ratio / entropy', 'series'),
    });
  }
  return out;
}

function downstreamPlot(set: ResultSet): PlotSpec | string {
  const data: Datum[] = [];
  for (const c of set.cells) {
    if (c.status !== 'completed') continue;
    for (const p of c.curves?.downstream ?? []) if (num(p.nll)) data.push({ arm: c.armId, seed: c.seed, step: p.step, nll: p.nll });
  }
  if (!data.length) return 'downstream NLL: no cell recorded curves.downstream';
  return {
    name: 'downstream-nll',
    title: 'Downstream NLL during training',
    caption: 'Held-out downstream loss measured during training, mean over seeds with a ±1 sd band.',
    spec: bandedLines(set, data, 'nll', 'downstream NLL'),
  };
}

/** Safe file stem of a metric key ("pass@1,strict-match" → "pass-1-strict-match"). */
export function metricStem(key: string): string {
  return key.replace(/[^A-Za-z0-9]+/g, '-').replace(/^-|-$/g, '').toLowerCase();
}

function metricBars(set: ResultSet, key: string): PlotSpec | string {
  const d = metricDisplay(key);
  const data: Datum[] = [];
  for (const c of set.cells) {
    const v = c.metrics[key]?.value;
    if (c.status === 'completed' && num(v)) data.push({ arm: c.armId, seed: c.seed, value: v * d.scale });
  }
  if (!data.length) return `${key}: no completed cell recorded it`;
  const hib = direction(set, key);
  const yTitle = hib === undefined ? d.label : `${d.label} ${hib ? '↑' : '↓'}`;
  const x = { field: 'arm', type: 'nominal', title: null, sort: set.arms.map((a) => a.id), axis: { labelAngle: -30 } };
  const y = { field: 'value', type: 'quantitative', title: yTitle };
  return {
    name: `metric-${metricStem(key)}`,
    title: `${d.label} per arm`,
    caption: 'Bar: mean over seeds; error bar: ±1 sd; dots: individual seeds.',
    spec: {
      $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
      width: WIDTH,
      height: HEIGHT,
      data: { values: data },
      encoding: { x, color: armColor(set, data, false) },
      layer: [
        { mark: { type: 'bar', opacity: 0.75 }, encoding: { y: { ...y, aggregate: 'mean' } } },
        { mark: { type: 'errorbar', extent: 'stdev', color: '#333', ticks: true }, encoding: { y, color: { value: '#333' } } },
        { mark: { type: 'point', filled: true, size: 28, color: '#222' }, encoding: { y, color: { value: '#222' } } },
      ],
    } as TopLevelSpec,
  };
}

/** Every plot the cells support, in page order. */
export function planPlots(set: ResultSet): PlotPlan {
  const all: (PlotSpec | string)[] = [lossPlot(set), ...designerPlots(set), downstreamPlot(set), ...metricKeys(set).map((k) => metricBars(set, k))];
  return { plots: all.filter((p): p is PlotSpec => typeof p !== 'string'), skipped: all.filter((p): p is string => typeof p === 'string') };
}
