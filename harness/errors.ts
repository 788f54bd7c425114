/**
 * Errors a user can act on (a bad suite key, a missing file, a malformed line). The CLI prints their message as
 * one line and exits 2, without a stack trace; anything else is a bug and keeps its stack behind `--verbose`.
 */
export class UserError extends Error {
  override name = 'UserError';
}
