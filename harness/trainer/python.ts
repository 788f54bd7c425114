/**
 * Finding the Python that runs the PyTorch engine: the suite's `torch.python` or $VPT_PYTHON, else python3, else
 * /usr/bin/python3 (on Debian the pyenv or venv `python3` on the PATH often lacks Debian's python3-torch). The
 * first that can import torch is used, and the engine's own probe says what it runs with.
 */
import { execa } from 'execa';
import { fileURLToPath } from 'node:url';
import { UserError } from '../errors.js';

/** Folder holding the engine's Python package (`vpt_torch`), put on PYTHONPATH. */
export const TORCH_ENGINE_DIR = fileURLToPath(new URL('../torch/', import.meta.url));

/** The trainer protocol version this harness speaks (docs/TRAINER-PROTOCOL.md). */
export const TRAINER_PROTOCOL = 1;

/** The trainer cannot start here; the message says what is missing and how to install it. */
export class TrainerUnavailableError extends UserError {}

export const TORCH_INSTALL_HINT =
  'install it (Debian/Ubuntu: sudo apt-get install python3-torch libopenblas0-pthread; elsewhere: pip install torch), ' +
  'or point VPT_PYTHON (or the suite key torch.python) at a Python that has it';

/** What `python -m vpt_torch probe` reports. */
export interface TorchProbe {
  python: string;
  protocol: number;
  torch: string;
  cuda: boolean;
  devices: string[];
  /** Optional libraries the engine uses when importable (transformers, peft, safetensors, ...). */
  libraries: Record<string, boolean>;
  /** The engine as a cell's hello line describes it on the device, dtype and threads asked for. */
  engine: Record<string, unknown>;
}

/** An interpreter named by the suite or VPT_PYTHON is the only one tried; otherwise python3, then Debian's. */
function candidates(preferred?: string): string[] {
  const named = preferred ?? process.env.VPT_PYTHON;
  return named ? [named] : ['python3', '/usr/bin/python3'];
}

/** The first interpreter that can `import torch` (and, for 'cuda', sees a CUDA device), or undefined. */
export async function findTorchPython(preferred?: string, device: 'cpu' | 'cuda' = 'cpu'): Promise<string | undefined> {
  const check = device === 'cuda' ? 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)' : 'import torch';
  for (const py of candidates(preferred)) {
    const r = await execa(py, ['-c', check], { reject: false, timeout: 60_000 });
    if (r.exitCode === 0) return py;
  }
  return undefined;
}

/** The engine's interpreter and what it runs with, or one line saying what is missing and how to get it. */
export async function probeTorchEngine(preferred?: string, device: 'auto' | 'cpu' | 'cuda' = 'auto', settings: { dtype?: string; threads?: number } = {}): Promise<TorchProbe> {
  const tried = candidates(preferred);
  const found: string[] = [];
  for (const py of tried) {
    const r = await execa(py, ['-c', 'import sys; print(sys.version_info[0])'], { reject: false, timeout: 30_000 });
    if (r.exitCode === 0) found.push(py);
  }
  if (!found.length) throw new TrainerUnavailableError(`trainer 'torch': no Python 3 here (tried ${tried.join(', ')}): install python3 and torch; ${TORCH_INSTALL_HINT}`);
  const python = await findTorchPython(preferred);
  if (!python) throw new TrainerUnavailableError(`trainer 'torch': no Python here can import torch (tried ${found.join(', ')}): ${TORCH_INSTALL_HINT}`);
  const args = ['-m', 'vpt_torch', 'probe', '--device', device, '--dtype', settings.dtype ?? 'auto', '--threads', String(settings.threads ?? 1)];
  const r = await execa(python, args, { reject: false, timeout: 120_000, env: { ...process.env, PYTHONPATH: pythonPath() } });
  const line = r.stdout.split('\n').find((l) => l.startsWith('{'));
  if (r.exitCode !== 0 || !line) {
    throw new TrainerUnavailableError(`trainer 'torch': ${python} imports torch but the engine (harness/torch) does not start: ${lastLines(String(r.stderr), 3)}`);
  }
  const probe = { python, ...(JSON.parse(line) as Omit<TorchProbe, 'python'>) };
  if (probe.protocol !== TRAINER_PROTOCOL) throw new TrainerUnavailableError(`trainer 'torch': the engine speaks protocol ${probe.protocol}, this harness ${TRAINER_PROTOCOL}`);
  if (device === 'cuda' && !probe.cuda) throw new TrainerUnavailableError(`trainer 'torch': torch.device is 'cuda' but ${python} (torch ${probe.torch}) sees no CUDA device; use torch.device 'cpu' or 'auto'`);
  return probe;
}

/** PYTHONPATH with the engine's folder first. */
export function pythonPath(): string {
  return [TORCH_ENGINE_DIR, process.env.PYTHONPATH].filter(Boolean).join(':');
}

export function lastLines(text: string, n: number): string {
  return text.trim().split('\n').slice(-n).join(' | ');
}
