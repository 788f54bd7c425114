/** Process entry of a vision worker: `node --import tsx harness/vision/job-main.ts <job.json>`. */
import { readFileSync } from 'node:fs';
import { runVisionJob, type VisionJob } from './job.js';

const path = process.argv[2];
if (!path) {
  process.stderr.write('usage: job-main <job.json>\n');
  process.exit(2);
}
runVisionJob(JSON.parse(readFileSync(path, 'utf8')) as VisionJob).catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(1);
});
