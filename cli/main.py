"""The `protoshift` command line.

Only typer is imported at start-up: every command imports what it needs when it runs, so
`protoshift --help` and `translate request` start fast (measured in benchmarks/).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from .exits import BAD_INPUT, INTERRUPTED, OK, CLIError

if TYPE_CHECKING:
    from .console import Diagnostics

app = typer.Typer(
    name="protoshift",
    help="OpenAI Chat Completions in; Anthropic Messages (or any OpenAI-compatible endpoint) out.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,  # rich help formatting costs ~0.3 s of imports on every --help
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)
translate_app = typer.Typer(
    help="Translate offline: OpenAI requests to Anthropic bodies, Anthropic responses and streams to OpenAI.",
    no_args_is_help=True,
)
app.add_typer(translate_app, name="translate")

Inputs = Annotated[
    list[str] | None, typer.Argument(help="Files, folders or - for stdin (default: stdin).", show_default=False)
]
OutDir = Annotated[
    Path | None, typer.Option("--out-dir", "-o", help="Write one output per input here, same names.", file_okay=False)
]
Jsonl = Annotated[bool, typer.Option("--jsonl", help="One item per line; a failing line gives an error line.")]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="No notes on stderr, errors only.")]


@translate_app.command("request")
def translate_request_command(
    inputs: Inputs = None,
    out_dir: OutDir = None,
    jsonl: Jsonl = False,
    explain: Annotated[bool, typer.Option("--explain", help="Table on stderr of what happened to each field.")] = False,
    strict: Annotated[bool, typer.Option("--strict", help="Refuse to drop or approximate anything.")] = False,
    max_tokens: Annotated[
        int | None, typer.Option("--max-tokens", min=1, help="max_tokens when the request sets none [default: 8192].")
    ] = None,
    quiet: Quiet = False,
) -> None:
    """OpenAI chat request(s) -> Anthropic Messages request body."""
    from .translate_cmd import TranslateOptions, run_translate

    options = TranslateOptions(out_dir, jsonl, explain, strict, default_max_tokens=max_tokens)
    _exit(run_translate("request", inputs, options, _diagnostics(quiet=quiet)))


@translate_app.command("response")
def translate_response_command(
    inputs: Inputs = None, out_dir: OutDir = None, jsonl: Jsonl = False, quiet: Quiet = False
) -> None:
    """Anthropic message(s) -> OpenAI chat.completion."""
    from .translate_cmd import TranslateOptions, run_translate

    _exit(run_translate("response", inputs, TranslateOptions(out_dir, jsonl), _diagnostics(quiet=quiet)))


@translate_app.command("stream")
def translate_stream_command(
    inputs: Inputs = None,
    out_dir: OutDir = None,
    include_usage: Annotated[
        bool, typer.Option("--include-usage", help="End with a usage chunk (stream_options.include_usage).")
    ] = False,
    quiet: Quiet = False,
) -> None:
    """Anthropic SSE stream -> OpenAI chat.completion.chunk SSE stream, live as it arrives."""
    from .translate_cmd import TranslateOptions, run_translate

    options = TranslateOptions(out_dir, include_usage=include_usage)
    _exit(run_translate("stream", inputs, options, _diagnostics(quiet=quiet)))


def _diagnostics(*, quiet: bool = False, verbose: bool = False) -> Diagnostics:
    from .console import Diagnostics

    return Diagnostics(quiet=quiet, verbose=verbose)


def _exit(code: int) -> None:
    if code != OK:
        raise typer.Exit(code)


def run() -> None:
    """Console-script entry point: maps every expected failure to one stderr line and an exit code."""
    try:
        code = app(standalone_mode=False)
    except CLIError as exc:
        from .console import Diagnostics

        Diagnostics().error(exc.message, exc.hint)
        code = exc.code
    except KeyboardInterrupt:
        sys.stderr.write("\n")
        code = INTERRUPTED
    except BrokenPipeError:
        _quiet_broken_pipe()
        code = OK
    except typer.Exit as exc:
        code = exc.exit_code
    except Exception as exc:  # click's usage errors and aborts
        code = _click_failure(exc)
    _flush_or_quiet()
    sys.exit(code if isinstance(code, int) else OK)


def _click_failure(exc: Exception) -> int:
    from click import exceptions as click_exc

    if isinstance(exc, click_exc.ClickException):
        exc.show()
        return exc.exit_code
    if isinstance(exc, click_exc.Abort):
        sys.stderr.write("\n")
        return INTERRUPTED
    if isinstance(exc, click_exc.Exit):
        return exc.exit_code
    raise exc


def _flush_or_quiet() -> None:
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        _quiet_broken_pipe()


def _quiet_broken_pipe() -> None:
    """The reader went away (`| head`): stop quietly, and keep Python from complaining at exit."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())


__all__ = ["BAD_INPUT", "app", "run"]
