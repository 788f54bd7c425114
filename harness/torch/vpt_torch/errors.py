"""The engine's one user-facing error: inputs it cannot run (exit status 2, one line naming the file or key)."""


class InputError(Exception):
    """Inputs the engine cannot run: a missing or malformed key, array or file."""
