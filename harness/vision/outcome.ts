/** What a vision cell's record derives from its training, whichever engine trained it. */
import type { VisionSuite } from './schema.js';

/** Patch tokens a DINO step processes per source image (2 global + the local crops), for tokens/s. */
export function tokensPerImage(s: VisionSuite): number {
  const p = s.model.patchSize;
  return 2 * (s.model.imageSize / p) ** 2 + s.train.augment.nLocal * (s.train.augment.localSize / p) ** 2;
}

/**
 * The meta step's cost: per meta step relative to one learner step (learner steps timed without the meta
 * work and the heads' first fit), and all designer work (meta steps + first fit) as a share of training time.
 */
export function metaCost(d: Record<string, number>, trainMs: number, steps: number): Record<string, number> {
  const { meta_ms_mean: ms, meta_steps: n } = d;
  if (ms === undefined || n === undefined || !Number.isFinite(ms) || n === 0) return {};
  const designerMs = ms * n + (d.head_fit_ms ?? 0);
  return { meta_fraction_of_step: ms / ((trainMs - designerMs) / steps), meta_share_of_time: designerMs / trainMs };
}
