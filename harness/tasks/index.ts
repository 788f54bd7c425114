/** The task registry: a suite's `task` key picks one; the runner dispatches every cell through it. */
import type { Suite, TaskName } from '../suite/schema.js';
import { languageTask } from './language.js';
import { visionTask } from './vision.js';
import type { TaskDefinition } from './types.js';

const TASKS: { [K in TaskName]: TaskDefinition<Extract<Suite, { task: K }>> } = {
  language: languageTask,
  vision: visionTask,
};

/** The task of a suite. The cast is sound: the registry is keyed by the same literal the suite carries. */
export function taskOf(s: Suite): TaskDefinition<Suite> {
  return TASKS[s.task] as unknown as TaskDefinition<Suite>;
}

export function taskNames(): TaskName[] {
  return Object.keys(TASKS) as TaskName[];
}

export function taskByName(name: TaskName): TaskDefinition<Suite> {
  return TASKS[name] as unknown as TaskDefinition<Suite>;
}
