/** What the runner and its worker processes exchange: the job file and the progress line prefix. */
import type { CellSpec } from '../suite/expand.js';
import type { Suite } from '../tasks/index.js';

export interface WorkerJob {
  /** The base stage, one cell, or the per-step cost calibration of `arms` (written to `out`). */
  kind: 'base' | 'cell' | 'calibrate';
  suite: Suite;
  cell?: CellSpec;
  dir: string;
  cacheDir: string;
  /** The run's code fingerprint: a worker whose harness/ differs refuses to start. */
  codeHash: string;
  /** The cell.json the cell reads (schedule-matched), resolved by the runner. */
  reads?: string;
  /** Calibration: the arms to measure and the file to write. */
  arms?: string[];
  out?: string;
}

/** Exit code of a worker that found harness/ changed since the run started. */
export const EXIT_CODE_CHANGED = 3;

/** Exit code of a worker that stopped on a user error; its stderr is the error's one line. */
export const EXIT_CODE_USER = 4;

export const PROGRESS_PREFIX = '@@vpt ';
