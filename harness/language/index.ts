/** The language task package: GSM8K-style feedback and evaluation, a GPT learner, top-K target designers. */
import { LanguageSuiteSchema } from './schema.js';
import { languageTask } from './task.js';

export type { LanguageSuite, LanguageSuiteInput } from './schema.js';

/** What the task registry takes: the task's definition and its suite schema. */
export const language = { task: languageTask, schema: LanguageSuiteSchema };
