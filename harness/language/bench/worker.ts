/** Worker process entry of `vpt bench`: runs the job in the JSON file named on the command line. */
import { readFileSync } from 'node:fs';
import { RESULT_PREFIX, runBenchJob, type BenchJob } from './job.js';

const path = process.argv[2];
if (!path) {
  process.stderr.write('usage: worker.ts <job.json>\n');
  process.exit(2);
}
runBenchJob(JSON.parse(readFileSync(path, 'utf8')) as BenchJob)
  .then((r) => process.stdout.write(RESULT_PREFIX + JSON.stringify(r) + '\n'))
  .catch((e: unknown) => {
    process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    process.exit(1);
  });
