/** Settings shared by the probes. Every hyperparameter that is searched is searched on the validation split. */
export interface ProbeConfig {
  /** Learning rates tried by the segmentation and classification probes (AdamW, constant, no weight decay).
   * Default [0.03, 0.1, 0.3]. */
  lrGrid: number[];
  /** Ridge strengths (per valid pixel, on standardised features) tried by the depth probe. Default
   * [1e-3, 1e-2, 1e-1, 1]. */
  ridgeGrid: number[];
  /** Passes over the probe-train split for the segmentation probe. Default 10. */
  epochs: number;
  /** Full-batch steps of the classification probe. Default 300. */
  classificationSteps: number;
  /** Images per minibatch of the dense probes. Default 128. */
  batchImages: number;
  /** Classification features: CLS ‖ mean patch token (DINOv2's linear eval) instead of CLS alone. Default true. */
  useMeanPatch: boolean;
  /** Bootstrap resamples for the stderr of mIoU and pixel accuracy. Default 200. */
  bootstrap: number;
  /** Seed of the bootstrap. Default 0. */
  seed: number;
}

export const DEFAULT_PROBE: ProbeConfig = {
  lrGrid: [0.03, 0.1, 0.3],
  ridgeGrid: [1e-3, 1e-2, 1e-1, 1],
  epochs: 10,
  classificationSteps: 300,
  batchImages: 128,
  useMeanPatch: true,
  bootstrap: 200,
  seed: 0,
};
