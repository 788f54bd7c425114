/** Settings shared by the probes. Every hyperparameter that is searched is searched on the validation split. */
export interface ProbeConfig {
  /** Learning rates tried by the segmentation and classification probes (AdamW, constant, no weight decay).
   * Default [0.03, 0.1, 0.3]. */
  lrGrid: number[];
  /** Ridge strengths (per valid pixel, on standardised features) tried by the depth probe. Default
   * [1e-3, 1e-2, 1e-1, 1]. */
  ridgeGrid: number[];
  /** AdamW steps of the segmentation probe (one minibatch each, cycling over probe-train). Default 200: the
   * validation mIoU of random-init features was still rising at 80 steps and flat by 200. */
  segmentationSteps: number;
  /** Full-batch steps of the classification probe. Default 300. */
  classificationSteps: number;
  /** Images per minibatch of the dense probes. Default 64. */
  batchImages: number;
  /** Classification features: CLS ‖ mean patch token (DINOv2's linear eval) instead of CLS alone. Default true. */
  useMeanPatch: boolean;
  /** Bootstrap resamples for the stderr of mIoU and pixel accuracy. Default 200. */
  bootstrap: number;
  /** Seed of the bootstrap. Default 0. */
  seed: number;
  /**
   * Per probe, a learning rate (ridge strength for depth) fixed in advance instead of searched: the grid becomes
   * that one value. Set when several backbones must be compared under the same probe (suites' `eval.select`).
   * Default none (every probe searches its grid).
   */
  fixed?: Partial<Record<ProbeName, number>>;
}

/** The three frozen-backbone probes. */
export type ProbeName = 'segmentation' | 'depth' | 'classification';

/** The configuration one probe runs with: its grid narrowed to the fixed value when there is one. */
export function probeSettings(cfg: ProbeConfig, probe: ProbeName): ProbeConfig {
  const v = cfg.fixed?.[probe];
  if (v === undefined) return cfg;
  return probe === 'depth' ? { ...cfg, ridgeGrid: [v] } : { ...cfg, lrGrid: [v] };
}

export const DEFAULT_PROBE: ProbeConfig = {
  lrGrid: [0.03, 0.1, 0.3],
  ridgeGrid: [1e-3, 1e-2, 1e-1, 1],
  segmentationSteps: 200,
  classificationSteps: 300,
  batchImages: 64,
  useMeanPatch: true,
  bootstrap: 200,
  seed: 0,
};
