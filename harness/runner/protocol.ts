/** What the runner and its worker processes exchange: the job file and the progress line prefix. */
import type { CellSpec } from '../suite/expand.js';
import type { Suite } from '../suite/schema.js';

export interface WorkerJob {
  kind: 'base' | 'cell';
  suite: Suite;
  cell?: CellSpec;
  dir: string;
  cacheDir: string;
}

export const PROGRESS_PREFIX = '@@vpt ';
