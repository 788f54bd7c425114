/**
 * Every random draw of a language cell that is data, made once by the harness from the cell's seed: the order of
 * training rows, each meta step's feedback batch, the probe's feedback batch and the shuffled-feedback rows.
 * Both engines consume them (the tfjs engine in memory, the torch engine from its inputs file), so on the same
 * inputs they train on the same batches. The streams are the ones the tfjs engine drew before draws were made
 * here (the same forks of the cell's RNG, in the same order), so its numbers did not change.
 */
import type { Rng } from '../engine/rng.js';
import type { TokenRows } from './data/pack.js';
import { shuffleAnswers } from './arms/feedback.js';
import type { DesignConfig } from './schema.js';

/** What a designer arm draws: its feedback batches in order, the probe's batch and the rows g_down reads. */
export interface ArmDraws {
  /** Rows of `designRows` for each feedback batch, in the order meta steps consume them. */
  feedback: number[][];
  /** Rows of the labelled feedback for the probe's one batch (absent: no probe). */
  probeFeedback?: number[];
  /** The rows g_down is taken on: the feedback rows, or for shuffled-feedback their answers permuted. */
  designRows: TokenRows;
}

export interface CellDraws {
  /** The training rows of each learner step. */
  batches: number[][];
  /** Designer arms only. */
  arm?: ArmDraws;
  /** Seed of the random-feedback control's Gaussian direction (its own fork of the arm's RNG). */
  noiseSeed: number;
}

/** The learner steps that run a meta step: from `burnIn`, every `metaEvery`. */
export function isMetaStep(step: number, design: Pick<DesignConfig, 'burnIn' | 'metaEvery'>): boolean {
  return step >= design.burnIn && (step - design.burnIn) % design.metaEvery === 0;
}

export function metaStepCount(steps: number, design: Pick<DesignConfig, 'burnIn' | 'metaEvery'>): number {
  return steps > design.burnIn ? Math.floor((steps - 1 - design.burnIn) / design.metaEvery) + 1 : 0;
}

/** Seeded batch order over `rows` rows: a fresh permutation of all rows each epoch (an epoch's tail is dropped). */
export class RowOrder {
  private order: number[] = [];
  private pos = 0;

  constructor(private readonly rows: number, readonly batchSize: number, private readonly rng: Rng) {
    if (rows < batchSize) throw new Error(`only ${rows} rows of data for a batch of ${batchSize}`);
  }

  next(): number[] {
    if (this.pos + this.batchSize > this.order.length) {
      this.order = this.rng.shuffle(Array.from({ length: this.rows }, (_, i) => i));
      this.pos = 0;
    }
    const idx = this.order.slice(this.pos, this.pos + this.batchSize);
    this.pos += this.batchSize;
    return idx;
  }
}

/** Row indices of `steps` batches, as a RowOrder draws them. */
export function batchOrder(rows: number, batchSize: number, steps: number, rng: Rng): number[][] {
  const order = new RowOrder(rows, batchSize, rng);
  return Array.from({ length: steps }, () => order.next());
}

export interface DrawOptions {
  /** The cell's RNG (seeded by the cell's seed). */
  rng: Rng;
  trainRows: number;
  batchSize: number;
  /** Batches to draw (learner updates × microbatches per update). */
  steps: number;
  /** Learner updates (what meta steps are counted in); default `steps`. */
  metaSteps?: number;
  design: DesignConfig;
  /** Designer arms: the labelled feedback rows, the kind of feedback, and whether the probe runs. */
  designer?: {
    feedbackRows: TokenRows; feedback: 'true' | 'random' | 'shuffled'; probing: boolean; eosId: number; blockSize: number;
    /** The feedback problems' families (embedded data): shuffled feedback takes answers from other families. */
    families?: readonly string[];
  };
}

export function drawCell(o: DrawOptions): CellDraws {
  const arm = o.rng.fork('arm');
  const draws: CellDraws = { batches: batchOrder(o.trainRows, o.batchSize, o.steps, o.rng.fork('data')), noiseSeed: arm.fork('random-feedback').seed };
  const d = o.designer;
  if (d) {
    const designRows = d.feedback === 'shuffled' ? shuffleAnswers(d.feedbackRows, arm.fork('shuffle-feedback'), d.eosId, d.blockSize, d.families) : d.feedbackRows;
    const n = Math.min(o.design.feedbackBatch, designRows.rows);
    const fb = arm.fork('feedback-batches');
    // Fresh feedback: a batch for every designer step of a meta step.
    const perMeta = o.design.freshFeedback ? o.design.designerSteps : 1;
    const feedback = Array.from({ length: metaStepCount(o.metaSteps ?? o.steps, o.design) * perMeta }, () => fb.sample(designRows.rows, n));
    draws.arm = {
      feedback, designRows,
      ...(d.probing ? { probeFeedback: arm.fork('probe').sample(d.feedbackRows.rows, Math.min(o.design.feedbackBatch, d.feedbackRows.rows)) } : {}),
    };
  }
  return draws;
}
