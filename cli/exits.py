"""Exit codes (the README lists them), and the one table that turns an expected failure into what the user
sees: an error line, a hint, an exit code. cloud/ and translator/ raise facts; only this module
knows flags and exit codes."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from protoshift.cloud.errors import BackendError, ConfigurationError

OK = 0
PROVIDER_FAILED = 1  # API error, timeout, circuit open, stream cut
BAD_INPUT = 2  # bad usage, invalid JSON, a field that cannot be translated
BATCH_PARTIAL = 3  # a batch finished with some failed items
INTERRUPTED = 130  # Ctrl-C


class CLIError(Exception):
    """An expected failure: one line (maybe two) on stderr and an exit code, never a traceback.
    `details` are further lines, one per item, when one failure is made of several (a fallback
    chain's backends)."""

    def __init__(
        self, message: str, code: int = BAD_INPUT, hint: str | None = None, details: tuple[str, ...] = ()
    ) -> None:
        self.message = message
        self.code = code
        self.hint = hint
        self.details = details
        super().__init__(message)


class InputError(CLIError):
    """The user's input is invalid: exit 2."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message, BAD_INPUT, hint)


def _key_hint(error: Any) -> str:
    from protoshift.cloud.kinds import BACKENDS

    kind = BACKENDS.get(error.backend)
    env = kind.key_env if kind is not None and kind.key_env else "the API key"
    return f"check {env} (or api_key / api_key_cmd under [{error.backend}] in the config file)"


def _timeout_hint(error: Any) -> str:
    if error.limit == "idle":
        return "retry later, or raise --idle-timeout if the model may pause this long"
    return "retry later, or raise --timeout"


def _bad_key_hint(error: Any) -> str:
    if error.character in ("a carriage return", "a line feed"):
        return "a key read from a file keeps the file's line break: strip it, e.g. KEY=$(tr -d '\\r\\n' < FILE)"
    return "a key is printable ASCII with no spaces: copy it again from the provider's console"


def _circuit_hint(error: Any) -> str:
    what = f"{error.model} was overloaded" if error.model else "recent calls failed"
    return f"{what}; wait {error.retry_in_seconds}s, pass --no-breaker to send anyway, or add a --fallback"


Hint = str | Callable[[Any], str]


@functools.cache
def _hints() -> tuple[tuple[type[Exception], Hint], ...]:
    """The one table: failure class (most specific first) -> what to do about it. Exit codes:
    configuration errors and TranslationError are bad input (2); every BackendError is the
    provider or the network failing (1). Built on first use: cloud/ is not imported at start-up."""
    from protoshift.cloud import errors as e

    return (
        (
            e.MissingKeyError,
            lambda e: f"set {e.setting} (or api_key / api_key_cmd under [{e.backend}] in the config file)",
        ),
        (e.InvalidKeyError, _bad_key_hint),
        (e.InsecureTransportError, "use https://, a loopback address, or pass --allow-insecure"),
        (e.InvalidBaseURLError, lambda e: f"set {e.setting} or --base-url to http(s)://host[:port][/path]"),
        (e.UnknownBackendError, lambda e: f"use one of: {', '.join(e.known)}"),
        (e.AuthenticationError, _key_hint),
        (e.PermissionDeniedError, "check that the key has access to this model and endpoint"),
        (e.NotFoundError, "check the model name and the base URL"),
        (e.InvalidRequestError, "fix the request; it will fail the same way if sent again"),
        (e.RateLimitError, "wait and retry, lower the request rate, or add a --fallback"),
        (e.OverloadedError, "the provider is overloaded; retry later or add a --fallback"),
        (e.RequestTimeout, "retry later, or raise --timeout"),
        (e.ServerError, "the provider failed; retry later or add a --fallback"),
        (e.ConflictError, "retry later"),
        (e.APITimeoutError, _timeout_hint),
        (e.APIConnectionError, "check the network and the base URL"),
        (e.CircuitOpenError, _circuit_hint),
        (e.StreamInterruptedError, "the output above is incomplete; run the request again"),
        (e.ResponseFormatError, "check the base URL points at the right API"),
    )


def hint_for(error: BackendError | ConfigurationError) -> str | None:
    for cls, hint in _hints():
        if isinstance(error, cls):
            return hint if isinstance(hint, str) else hint(error)
    return None


def map_failure(exc: BaseException) -> CLIError | None:
    """Expected failures from cloud/ and translator/ -> a CLIError with its exit code and hint;
    None for anything else (a bug, which is re-raised)."""
    from protoshift.translator import TranslationError

    if isinstance(exc, TranslationError):
        return InputError(str(exc))
    from protoshift.cloud.errors import BackendError, ConfigurationError, FallbackExceptionGroup

    if isinstance(exc, FallbackExceptionGroup):
        lines = tuple(f"{error}" + (f" — {hint}" if (hint := hint_for(error)) else "") for error in exc.failures)
        return CLIError(exc.message, PROVIDER_FAILED, details=lines)
    if isinstance(exc, ConfigurationError):
        return CLIError(exc.message, BAD_INPUT, hint_for(exc))
    if isinstance(exc, BackendError):
        return CLIError(str(exc), PROVIDER_FAILED, hint_for(exc))
    return None


def finish(command: Callable[[], int]) -> None:
    """Run a command's body and end it with its exit code. The reader going away (`| head`) is a
    quiet success: left to click, the EPIPE would become exit 1, which here means the provider failed."""
    import typer

    from protoshift.cli.io.output import quiet_broken_pipe

    try:
        code = command()
    except BrokenPipeError:
        quiet_broken_pipe()
        code = OK
    if code != OK:
        raise typer.Exit(code)


# -- click's usage errors ------------------------------------------------------------------------------


def usage_failure(exc: BaseException) -> CLIError | None:
    """Click's usage errors (an unknown option, a bad value, an extra argument) as protoshift's one
    line and one hint, exit 2, instead of click's usage block; None for anything else. Duck-typed:
    click is vendored in recent typer."""
    names = {cls.__name__ for cls in type(exc).__mro__}
    if "UsageError" not in names or "NoArgsIsHelpError" in names:  # `protoshift` alone shows the help
        return None
    format_message = getattr(exc, "format_message", None)
    message = str(getattr(exc, "message", "") or (format_message() if callable(format_message) else exc))
    if "BadParameter" in names and callable(format_message):
        message = format_message()  # it names the option: "Invalid value for '--timeout': ..."
    ctx = getattr(exc, "ctx", None)
    command = str(getattr(ctx, "command_path", "") or "protoshift")
    message = message[:1].lower() + message[1:].rstrip(".")
    return CLIError(message, BAD_INPUT, _usage_hint(exc, command))


def _usage_hint(exc: BaseException, command: str) -> str:
    option = getattr(exc, "option_name", None)
    if isinstance(option, str):
        field = option.lstrip("-").replace("-", "_")
        if command.endswith(" chat") and field in _request_fields():
            return f"request fields are set with -O KEY VALUE: -O {field} VALUE"
        if command.endswith("batch run") and option == "-c":
            return "-j N (--concurrency N) sets how many requests are in flight"
        possibilities = getattr(exc, "possibilities", None) or ()
        if possibilities:
            return f"did you mean {' or '.join(sorted(possibilities)[:3])}?"
    return f"{command} --help lists what it takes"


def _request_fields() -> frozenset[str]:
    """The Chat Completions request fields protoshift knows (the translator's tables)."""
    from protoshift.translator import tables

    return frozenset(tables.MAPPED_FIELDS) | frozenset(tables.DROPPED_FIELDS) | frozenset(tables.REJECTED_FIELDS)
