/**
 * The contract between the core and a task package: what a task (language, vision) tells the task-agnostic runner:
 * how to check its data, build its base checkpoint, run and evaluate a cell, which arms it has, and what its tables
 * show. The runner, results, reports and the regression gate only ever go through this interface, which the registry
 * (harness/tasks/index.ts) hands out. Task packages import this file and nothing above it.
 */
import type { BackendName } from '../engine/backend.js';
import type { CellResult, MetricValue, ReferenceRow, TrainerEngineInfo } from '../results/schema.js';
import type { ArmCost } from '../bench/step-cost.js';
import type { CellSpec } from '../suite/cell.js';
import type { Registry } from '../suite/registry.js';
import type { SuiteBase } from '../suite/schema.js';

/** Progress of a long phase (base, train, eval), reported by workers. */
export type ProgressFn = (e: { phase: string; done: number; total: number }) => void;

export interface CellPaths {
  /** Folder of this cell's outputs. */
  dir: string;
  cacheDir: string;
  /** Code fingerprint of the run (checked by the worker before this cell started). Default: computed here. */
  codeHash?: string;
  /** The cell.json this cell reads (see `CellSpec.reads`), resolved by the runner. */
  reads?: string;
}

/** The part of a registered arm the runner needs. */
export interface ArmInfo {
  name: string;
  /** Bumped when the arm's rule changes; results of different versions are incomparable. */
  version: number;
  description: string;
  /** Row id whose same-seed cell record this arm reads by default (the runner orders it first). */
  reads?: string;
}

/** What a task's cell run measured: the task-specific part of cell.json. */
export interface CellOutcome {
  metrics: Record<string, MetricValue>;
  /** Per metric key, whether larger is better. */
  higherIsBetter: Record<string, boolean>;
  /** Arm diagnostics (mean value, gate statistics, probe r, ...). */
  diagnostics: Record<string, number>;
  /** sha256 of every data file the cell read, by role. */
  dataHashes: Record<string, string>;
  /** Hash of the base checkpoint the cell continued from. */
  baseHash: string;
  steps: CellResult['steps'];
  timings: CellResult['timings'];
  curves: CellResult['curves'];
  /** Further task-specific record fields (e.g. `decontamination`). */
  extra?: Record<string, unknown>;
  /** The engine that trained the cell, when not the in-process tfjs one (`trainer: 'torch'`). */
  engine?: TrainerEngineInfo;
}

export interface Preflight {
  /** sha256 of every data file, by role (what --resume compares). */
  hashes: Record<string, string>;
  /** One line of sizes for `vpt validate`. */
  summary: string;
}

export interface TaskDefinition<S extends SuiteBase = SuiteBase> {
  name: S['task'];
  description: string;
  /** Arms a suite of this task may name. */
  arms: Registry<ArmInfo>;
  /** Evaluation protocol versions, recorded in every cell. */
  evalVersions: Record<string, number>;
  /**
   * Backends this task cannot run on, each with the reason (one line): a suite asking for one is refused when it
   * is loaded, and `auto` passes over them. Default none.
   */
  unsupportedBackends?: Partial<Record<BackendName, string>>;
  /** Checks across keys the schema cannot express; each problem as `key.path: message`. */
  checkSuite(s: S): string[];
  /** Loads and checks every data source before anything trains. */
  preflight(s: S, cacheDir: string): Promise<Preflight>;
  /** Builds the shared base checkpoint once (cached); runs in a worker. */
  prepareBase(s: S, cacheDir: string, progress?: ProgressFn): Promise<void>;
  /** Per-step cost of `arm` at the suite's cadence, for wall-clock budgets (runs in a worker, after the base). */
  measureStepCost(s: S, arm: string, cacheDir: string): Promise<ArmCost>;
  /**
   * The engine that trains this suite's cells when it is not the in-process tfjs one (`trainer: 'torch'`), as a
   * calibration records it; undefined: tfjs on the selected backend.
   */
  trainerEngine?(s: S): Promise<TrainerEngineInfo | undefined>;
  /**
   * The data roles (keys of `Preflight.hashes`) a cell reads: its record keeps their hashes only, and --resume redoes
   * it only when one of them changed. Default: every role.
   */
  dataRoles?(s: S, cell: CellSpec<S['arms'][number]>): string[];
  /** Trains and evaluates one cell (runs in a worker, on the selected backend). */
  runCell(s: S, cell: CellSpec<S['arms'][number]>, paths: CellPaths, progress?: ProgressFn): Promise<CellOutcome>;
  /** Reference rows of the tables (the base checkpoint, ...), read from what the base stage cached. */
  referenceRows(s: S, results: readonly CellResult[], cacheDir: string): ReferenceRow[];
  /** A few words on a finished cell for the progress log (e.g. "pass@1 31.0%"). */
  headline(r: CellResult): string;
  /** `vpt bench`'s overhead table for this task's presets and suites; absent: the task has none yet. */
  bench?: TaskBench<S>;
  /** Measurements that are not suite runs (`vpt tool <name> [args...]`), by name. */
  tools?: Record<string, TaskTool>;
}

/**
 * What the core lends a task's bench and tools: loading and validating suites lives above the task packages (it
 * needs every task's schema), so a task reaches it only through these functions.
 */
export interface TaskServices {
  /** A suite by name (`suites/<name>.suite.ts`) or path, with `--set key=value` overrides, validated. */
  loadSuite(ref: string, sets?: readonly string[]): Promise<SuiteBase>;
  /** A suite declaration built in code (a bench preset), validated as `defineSuite` validates it. */
  parseSuite(input: unknown, source: string): SuiteBase;
}

/** What `vpt bench` asks a task to measure. */
export interface BenchRequest<S extends SuiteBase = SuiteBase> {
  /** Preset names of this task (`bench.presets`), with the `--set` overrides to apply to each. */
  presets: string[];
  sets: readonly string[];
  /** Suites of this task, already loaded with those overrides. */
  suites: S[];
  /** Measure only these arms (the baseline always runs). */
  arms?: string[];
  /** Fresh-process runs per case, timed steps per run, untimed steps first, and the seed of order and models. */
  repeats: number;
  steps: number;
  warmup: number;
  seed: number;
  /** tfjs backends to measure; several: each configuration on each, side by side. Empty: 'auto'. */
  backends: BackendName[];
  /** Engines to measure: tfjs alone, or the PyTorch engine beside it (`--trainer torch`). */
  trainers: ('tfjs' | 'torch')[];
  /** PyTorch reference: 'auto' (if importable), 'on' (required), 'off'; its interpreter and device (also the torch engine's). */
  torch: 'auto' | 'on' | 'off';
  python?: string;
  torchDevice: 'cpu' | 'cuda';
  /** Kernel-by-kernel profile of this many baseline steps per run (0: off), and whether to time the base stage. */
  profile: number;
  baseStage: boolean;
  onProgress(line: string): void;
}

export interface TaskBench<S extends SuiteBase = SuiteBase> {
  /** Named configurations `--preset` accepts, each with one line of description. */
  presets: Record<string, string>;
  /** Runs the overhead benchmark; returns the table as text and the whole report for `--json`. */
  overhead(req: BenchRequest<S>, services: TaskServices): Promise<{ text: string; report: unknown }>;
}

/** A task's command-line measurement (`vpt tool <name> [args...]`); it prints its own output and usage. */
export interface TaskTool {
  /** One line for `vpt tool` without a name. */
  description: string;
  /** Runs with the arguments after the tool's name; a bad argument throws a UserError naming it. */
  run(argv: string[], services: TaskServices): Promise<void>;
}
