"""Exit codes (DESIGN.md): one table, used by every command."""

from __future__ import annotations

OK = 0
PROVIDER_FAILED = 1  # API error, timeout, circuit open, stream cut
BAD_INPUT = 2  # bad usage, invalid JSON, a field that cannot be translated
BATCH_PARTIAL = 3  # a batch finished with some failed items
INTERRUPTED = 130  # Ctrl-C


class CLIError(Exception):
    """An expected failure: one line (maybe two) on stderr and an exit code, never a traceback."""

    def __init__(self, message: str, code: int = BAD_INPUT, hint: str | None = None) -> None:
        self.message = message
        self.code = code
        self.hint = hint
        super().__init__(message)


class InputError(CLIError):
    """The user's input is invalid: exit 2."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message, BAD_INPUT, hint)
