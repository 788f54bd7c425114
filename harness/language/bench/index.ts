/**
 * The language task's benchmarks: `vpt bench`'s overhead table (GPT presets and language suites, each case in a fresh
 * worker process) and the tools `vpt tool estimator` and `vpt tool decontam-bench`. What they run is imported when
 * they run: a suite file compiled as CommonJS (one outside the repository) reaches this module through
 * `defineSuite`, and the bench's ESM-only dependencies (execa, tinybench) cannot be required.
 */
import type { BenchRequest, TaskBench, TaskTool } from '../../tasks/contract.js';
import type { LanguageSuite } from '../schema.js';
import { presetDescriptions } from './cases.js';

export const languageBench: TaskBench<LanguageSuite> = {
  presets: presetDescriptions(),
  async overhead(req: BenchRequest<LanguageSuite>, services) {
    const { configFromPreset, configFromSuite, perBackend, perTrainer } = await import('./cases.js');
    const { renderOverhead, runOverhead } = await import('./overhead.js');
    const configs = perTrainer(perBackend([...req.presets.map((p) => configFromPreset(p, req.sets, services.parseSuite)), ...req.suites.map(configFromSuite)], req.backends), req.trainers);
    const backend = req.backends.length === 1 ? req.backends[0] : undefined;
    const report = await runOverhead({
      configs, repeats: req.repeats, steps: req.steps, warmup: req.warmup, seed: req.seed, torch: req.torch, torchDevice: req.torchDevice,
      profile: req.profile, baseStage: req.baseStage, onProgress: req.onProgress,
      ...(req.arms ? { arms: req.arms } : {}), ...(req.python ? { python: req.python } : {}), ...(backend ? { backend } : {}),
    });
    return { text: renderOverhead(report), report };
  },
};

export const languageTools: Record<string, TaskTool> = {
  estimator: {
    description: "the value estimator's accuracy on a suite's base checkpoint: D's error by forward and central differences, g_down of B problems against the pool's",
    run: async (argv, services) => (await import('./estimator.js')).runEstimator(argv, services),
  },
  'decontam-bench': {
    description: 'time the decontamination screen of 10,000 stream items against the references (tinybench)',
    run: async (argv, services) => (await import('./decontam.bench.js')).runDecontamBench(argv, services),
  },
};
