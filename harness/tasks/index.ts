/**
 * The task registry, the one file that names every task: a suite's `task` key picks one, the suite schema is the
 * union of the tasks' own schemas, and the core (runner, cli, reports) reaches a task only through here.
 * A new task is a folder beside harness/language/ and harness/vision/ whose index exports its `TaskDefinition`
 * and suite schema, plus its import and one entry in PACKAGES below.
 */
import { z } from 'zod';
import { language, type LanguageSuiteInput } from '../language/index.js';
import { vision, type VisionSuiteInput } from '../vision/index.js';
import type { TaskDefinition } from './contract.js';

export type { LanguageSuite, LanguageSuiteInput } from '../language/index.js';
export type { VisionSuite, VisionSuiteInput } from '../vision/index.js';

/** Suites written before tasks existed have no `task` key: they are language suites. */
function defaultTask(input: unknown): unknown {
  if (input && typeof input === 'object' && !Array.isArray(input) && !('task' in input)) return { task: 'language', ...input };
  return input;
}

/** Every task package, in the order `vpt ls` lists them. A new task is one entry here (and its import above). */
const PACKAGES = [language, vision] as const;

/** The packages' schemas as a tuple (a generic mapped type keeps the tuple's shape). */
type SchemasOf<T extends readonly { schema: unknown }[]> = { -readonly [K in keyof T]: T[K] extends { schema: infer S } ? S : never };

/** Any suite: a discriminated union on `task`, so each task has its own keys and an unknown key is an error. */
export const SuiteSchema = z.preprocess(defaultTask, z.discriminatedUnion('task', PACKAGES.map((p) => p.schema) as SchemasOf<typeof PACKAGES>));

export type Suite = z.output<typeof SuiteSchema>;
export type SuiteInput = LanguageSuiteInput | VisionSuiteInput;
export type TaskName = Suite['task'];

/** The definitions by name; the cast is sound because each package's task carries its schema's literal. */
const TASKS = Object.fromEntries(PACKAGES.map((p) => [p.task.name, p.task])) as unknown as { [K in TaskName]: TaskDefinition<Extract<Suite, { task: K }>> };

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
