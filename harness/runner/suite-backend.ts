/**
 * The backend a suite's work runs on: its `backend` key, where `auto` passes over the backends its task cannot
 * use (the suite loader already refused an explicit one, ../suite/define.ts).
 */
import { BACKENDS, releaseBackend, selectBackend, type BackendName, type EngineInfo } from '../engine/backend.js';
import type { Suite } from '../tasks/index.js';
import { taskOf } from '../tasks/index.js';

export function selectSuiteBackend(s: Suite): Promise<EngineInfo> {
  const unsupported = taskOf(s).unsupportedBackends ?? {};
  const exclude = BACKENDS.filter((b) => unsupported[b] !== undefined);
  return selectBackend(s.backend === 'auto' ? undefined : (s.backend as BackendName), { exclude });
}

/**
 * A backend the suite names (not `auto`) that cannot be had, as its one-line reason ({@link BackendUnavailableError},
 * a user error), in this process before any results folder is made; the device opened to check is freed at once.
 */
export async function checkSuiteBackend(s: Suite): Promise<void> {
  if (s.backend === 'auto') return;
  await selectSuiteBackend(s).finally(releaseBackend);
}
