/**
 * Errors a user can act on (a bad suite key, a missing file, a malformed line). The CLI prints their message as
 * one line and exits 2, without a stack trace; anything else is a bug and keeps its stack behind `--verbose`.
 */
export class UserError extends Error {
  override name = 'UserError';
}

/** A suite declaration or override that does not validate. */
export class SuiteError extends UserError {}

/** Input data that cannot be used: the message names the file (and line or row, or the suite key). */
export class DataError extends UserError {}
