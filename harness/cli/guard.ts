/** Runs a subcommand's action so that bad input ends with one line on stderr and exit status 2, not a stack. */
import { InputError } from '../report/read.js';

export function guard<A extends unknown[]>(action: (...args: A) => Promise<void> | void): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await action(...args);
    } catch (e) {
      if (!(e instanceof InputError)) throw e;
      process.stderr.write(`vpt: ${e.message}\n`);
      process.exitCode = 2;
    }
  };
}
