/**
 * Runs one engine process for a cell (docs/TRAINER-PROTOCOL.md): `python -m vpt_torch <mode> <inputs-dir>` in a
 * process group of its own, its `@@vpt` lines parsed as they arrive. The whole group is killed when the cell's
 * worker is told to stop (SIGINT, SIGTERM) or times out; the engine also dies with the worker on its own
 * (PR_SET_PDEATHSIG), so no engine outlives its cell. A failure carries the engine's message and its last stderr lines.
 */
import { execa } from 'execa';
import { lastLines, pythonPath, TRAINER_PROTOCOL } from './python.js';

export const ENGINE_PREFIX = '@@vpt ';

/** One line the engine printed. */
export interface EngineMessage {
  type: string;
  [key: string]: unknown;
}

/** The engine failed: its message, exit status and the tail of its stderr. */
export class EngineError extends Error {
  override name = 'EngineError';
  constructor(message: string, readonly stderrTail: string) {
    super(stderrTail ? `${message}\n--- engine stderr (last lines) ---\n${stderrTail}` : message);
  }
}

export interface EngineRunOptions {
  python: string;
  mode: 'run' | 'calibrate' | 'bench';
  inputsDir: string;
  /** Each message as it arrives (progress, hello, ...). */
  onMessage?: (m: EngineMessage) => void;
  /** Extra environment (thread counts). */
  env?: Record<string, string>;
}

/** Keeps the last `max` characters of a stream. */
class Tail {
  private text = '';
  constructor(private readonly max: number) {}
  push(s: string): void {
    this.text = (this.text + s).slice(-this.max);
  }
  toString(): string {
    return this.text;
  }
}

/** Runs the engine to its final message (`result` or `calibration`) and returns it with the hello line. */
export async function runEngine(o: EngineRunOptions): Promise<{ hello: EngineMessage; final: EngineMessage }> {
  const child = execa(o.python, ['-m', 'vpt_torch', o.mode, o.inputsDir], {
    reject: false,
    detached: true,
    buffer: false,
    stdin: 'ignore',
    env: { ...process.env, PYTHONPATH: pythonPath(), PYTHONUNBUFFERED: '1', ...(o.env ?? {}) },
  });
  const killGroup = (): void => {
    try {
      if (child.pid) process.kill(-child.pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  };
  // The worker's own stop signals take the engine's group down with it, then let the worker end as it would have.
  const onSignal = (sig: NodeJS.Signals): void => {
    killGroup();
    process.exit(sig === 'SIGINT' ? 130 : 143);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  process.once('exit', killGroup);
  const stderr = new Tail(6000);
  child.stderr?.on('data', (b: Buffer) => stderr.push(b.toString()));
  let hello: EngineMessage | undefined;
  let final: EngineMessage | undefined;
  let error: string | undefined;
  let pending = '';
  child.stdout?.on('data', (b: Buffer) => {
    const lines = (pending + b.toString()).split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) {
      if (!line.startsWith(ENGINE_PREFIX)) continue;
      let m: EngineMessage;
      try {
        m = JSON.parse(line.slice(ENGINE_PREFIX.length)) as EngineMessage;
      } catch {
        error = `the engine printed a line that is not JSON: ${line.slice(0, 200)}`;
        continue;
      }
      if (m.type === 'hello') hello = m;
      else if (m.type === 'result' || m.type === 'calibration' || m.type === 'bench') final = m;
      else if (m.type === 'error') error = String(m.message);
      o.onMessage?.(m);
    }
  });
  try {
    const r = await child;
    const tail = lastLines(stderr.toString(), 20);
    if (r.exitCode !== 0 || r.signal) {
      const how = r.signal ? `killed by ${r.signal}` : `exit ${r.exitCode}`;
      throw new EngineError(`torch engine failed (${how}): ${error ?? 'no message (see its stderr)'}`, tail);
    }
    if (!hello) throw new EngineError('torch engine ended without its hello line', tail);
    if (hello.protocol !== TRAINER_PROTOCOL) throw new EngineError(`torch engine speaks protocol ${String(hello.protocol)}, this harness ${TRAINER_PROTOCOL}`, tail);
    if (!final) throw new EngineError(`torch engine ended without a ${o.mode === 'run' ? 'result' : o.mode} line${error ? `: ${error}` : ''}`, tail);
    return { hello, final };
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    process.off('exit', killGroup);
    killGroup();
  }
}
