/** Option parsers shared by the subcommands. */
import { InvalidArgumentError } from 'commander';

/** A whole number of at least `min`, else an error naming the flag. */
export const int = (name: string, min = 0) => (v: string): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`${name} must be a whole number${min ? ` of at least ${min}` : ''} (got '${v}')`);
  return n;
};

/** Collects a repeatable option's values. */
export const collect = (v: string, prev: string[]): string[] => [...prev, v];

/** A comma-separated list. */
export const list = (v: string): string[] => v.split(',').map((x) => x.trim()).filter(Boolean);

/** `--set` overrides with the engine flags folded in: `--backend` and `--trainer` are shorthands for suite keys. */
export function withEngineFlags(o: { set: string[]; backend?: string | undefined; trainer?: string | undefined }): string[] {
  return [...o.set, ...(o.backend ? [`backend=${o.backend}`] : []), ...(o.trainer ? [`trainer=${o.trainer}`] : [])];
}

export const TRAINER_HELP = "training engine: tfjs (in the worker, the default) or torch (the PyTorch engine; needs python3 with torch)";
