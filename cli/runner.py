"""Running the command line: `main(argv) -> int` (in-process, tests drive it) and `run()` (the console
script, `protoshift.cli.runner:run`). Every expected failure becomes an error line (and a hint) on stderr and its exit code;
anything else is a bug and keeps its traceback."""

from __future__ import annotations

import sys

import typer

from protoshift.cli.exits import INTERRUPTED, OK, CLIError
from protoshift.cli.io.output import quiet_broken_pipe
from protoshift.cli.main import app


def run() -> None:
    """Console-script entry point."""
    sys.exit(main())


def main(argv: list[str] | None = None) -> int:
    """Run the command line on `argv` (default: `sys.argv[1:]`) and return the exit code."""
    _without_httpx_cli()
    try:
        code = app(args=argv, prog_name="protoshift", standalone_mode=False)
    except CLIError as exc:
        code = report(exc)
    except KeyboardInterrupt:
        sys.stderr.write("\n")
        code = INTERRUPTED
    except BrokenPipeError:
        quiet_broken_pipe()
        code = OK
    except typer.Exit as exc:
        code = exc.exit_code
    except Exception as exc:  # provider and translation failures, click's usage errors
        code = _expected_failure(exc)
    _flush_or_quiet()
    return code if isinstance(code, int) else OK


def report(exc: CLIError) -> int:
    from protoshift.cli.io.console import Diagnostics

    diag = Diagnostics()
    diag.error(exc.message, None if exc.details else exc.hint)
    for line in exc.details:
        diag.error(line)
    if exc.details and exc.hint:
        diag.hint(exc.hint)
    return exc.code


def _expected_failure(exc: Exception) -> int:
    """Failures that have a one-line message and an exit code; anything else is a bug: re-raised."""
    if "protoshift.cloud" in sys.modules or "protoshift.translator" in sys.modules:
        from protoshift.cli.exits import map_failure

        mapped = map_failure(exc)
        if mapped is not None:
            return report(mapped)
    from protoshift.cli.exits import usage_failure

    usage = usage_failure(exc)
    if usage is not None:
        return report(usage)
    # Other click exceptions (the help of `protoshift` alone): duck-typed across versions.
    show, exit_code = getattr(exc, "show", None), getattr(exc, "exit_code", None)
    if callable(show) and isinstance(exit_code, int):
        show()
        return exit_code
    if type(exc).__name__ == "Abort":
        sys.stderr.write("\n")
        return INTERRUPTED
    raise exc


def _without_httpx_cli() -> None:
    """`import httpx` also imports httpx's own command line (click, rich.console, rich.progress,
    pygments: ~0.27 s) whenever click and rich are installed, as they are here. protoshift never
    runs it; a None entry makes httpx fall back to its stub `main` (measured in benchmarks/)."""
    if "httpx" not in sys.modules:
        sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]


def _flush_or_quiet() -> None:
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        quiet_broken_pipe()
