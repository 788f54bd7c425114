/** What the command line lends task packages (TaskServices): suite loading and validation, which live above them. */
import { parseSuite } from '../suite/define.js';
import { loadSuite } from '../suite/load.js';
import type { TaskServices } from '../tasks/contract.js';

export const taskServices: TaskServices = {
  loadSuite: async (ref, sets = []) => (await loadSuite(ref, sets)).suite,
  parseSuite: (input, source) => parseSuite(input, source),
};
