/**
 * The import rules of harness/ (docs/ARCHITECTURE.md): no cycles; the core reaches a task package only through the
 * task registry (harness/tasks/index.ts); a task package imports only the core below it (engine, optim, suite keys,
 * results, bench helpers, the task contract) and never the other task. `npm run depcheck` (in .ci/run) fails on any
 * violation.
 */
const TASKS = '^harness/(language|vision)/';
const REGISTRY = '^harness/tasks/index\\.ts$';
// The core above the task packages: what expands, runs, reports and judges suites, and the command line.
const UPPER = '^harness/(suite/(define|expand|load)\\.ts|results/(folder|merge)\\.ts|runner/|report/|regress/|cli/)';

module.exports = {
  forbidden: [
    { name: 'no-circular', severity: 'error', comment: 'an import cycle', from: { path: '^harness/' }, to: { circular: true } },
    {
      name: 'core-to-task',
      severity: 'error',
      comment: 'the core reaches a task package only through the registry (harness/tasks/index.ts)',
      from: { path: '^harness/', pathNot: [TASKS, REGISTRY] },
      to: { path: TASKS },
    },
    {
      name: 'task-to-upper',
      severity: 'error',
      comment: 'a task package imports only the core below it (engine, optim, suite keys, results, bench helpers, tasks/contract.ts)',
      from: { path: TASKS },
      to: { path: [UPPER, REGISTRY] },
    },
    {
      name: 'language-to-vision',
      severity: 'error',
      comment: 'task packages do not import each other: a piece both use belongs in the core, named for what it is',
      from: { path: '^harness/language/' },
      to: { path: '^harness/vision/' },
    },
    {
      name: 'vision-to-language',
      severity: 'error',
      comment: 'task packages do not import each other: a piece both use belongs in the core, named for what it is',
      from: { path: '^harness/vision/' },
      to: { path: '^harness/language/' },
    },
    {
      name: 'lower-to-upper',
      severity: 'error',
      comment: 'the lower core (engine, optim, suite keys, results, bench helpers, the task contract) does not import the upper core or the registry',
      from: { path: '^harness/', pathNot: [TASKS, UPPER, REGISTRY] },
      to: { path: [UPPER, REGISTRY] },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
  },
};
