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


@app.command("chat")
def chat_command(
    input: Annotated[
        str | None, typer.Argument(help="An OpenAI request file, or - for stdin (default: stdin when piped).")
    ] = None,
    prompt: Annotated[str | None, typer.Option("--prompt", "-p", help="Send this as a user message.")] = None,
    system: Annotated[str | None, typer.Option("--system", help="Add this system prompt.")] = None,
    model: Annotated[str | None, typer.Option("--model", "-m", help="Model to ask (overrides the request's).")] = None,
    max_tokens: Annotated[int | None, typer.Option("--max-tokens", min=1, help="Answer length limit.")] = None,
    stream: Annotated[bool, typer.Option("--stream", "-s", help="Stream tokens as they come.")] = False,
    fmt: Annotated[
        str, typer.Option("--format", "-f", help="auto | text | json | sse | jsonl (auto: text on a terminal).")
    ] = "auto",
    backend: Annotated[
        str | None, typer.Option("--backend", "-b", help="anthropic | openai | mock [default: anthropic].")
    ] = None,
    base_url: Annotated[str | None, typer.Option("--base-url", help="The primary backend's base URL.")] = None,
    fallback: Annotated[
        list[str] | None, typer.Option("--fallback", help="BACKEND[:MODEL] to try when the one before fails.")
    ] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the upstream request body; send nothing.")] = False,
    interactive: Annotated[bool, typer.Option("--interactive", "-i", help="Chat on the terminal.")] = False,
    timeout: Annotated[float | None, typer.Option("--timeout", help="Seconds to wait for the provider [600].")] = None,
    max_retries: Annotated[int | None, typer.Option("--max-retries", min=0, help="Retries on failure [2].")] = None,
    no_breaker: Annotated[bool, typer.Option("--no-breaker", help="Turn the circuit breaker off.")] = False,
    allow_insecure: Annotated[
        bool, typer.Option("--allow-insecure", help="Allow sending a key over plain http:// to a remote host.")
    ] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log requests and responses (keys hidden).")] = False,
    quiet: Quiet = False,
) -> None:
    """Send an OpenAI chat request to Claude (or any OpenAI-compatible server); print the answer."""
    from .chat_cmd import ChatOptions, run_chat
    from .config import resolve_settings

    settings = resolve_settings(
        backend=backend,
        model=model,
        max_tokens=max_tokens,
        timeout=timeout,
        max_retries=max_retries,
        no_breaker=no_breaker,
        fallbacks=fallback,
        base_url=base_url,
        allow_insecure=allow_insecure,
    )
    options = ChatOptions(input, prompt, system, stream, fmt, dry_run, interactive)
    _exit(run_chat(options, settings, _diagnostics(quiet=quiet, verbose=verbose)))


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
        code = _report(exc)
    except KeyboardInterrupt:
        sys.stderr.write("\n")
        code = INTERRUPTED
    except BrokenPipeError:
        _quiet_broken_pipe()
        code = OK
    except typer.Exit as exc:
        code = exc.exit_code
    except Exception as exc:  # provider and translation failures, click's usage errors
        code = _expected_failure(exc)
    _flush_or_quiet()
    sys.exit(code if isinstance(code, int) else OK)


def _report(exc: CLIError) -> int:
    from .console import Diagnostics

    Diagnostics().error(exc.message, exc.hint)
    return exc.code


def _expected_failure(exc: Exception) -> int:
    """Failures that have a one-line message and an exit code; anything else is a bug: re-raised."""
    if "cloud" in sys.modules or "translator" in sys.modules:
        from .chat_cmd import map_failure

        mapped = map_failure(exc)
        if mapped is not None:
            return _report(mapped)
    # Usage errors from typer's click (vendored in recent typer): duck-typed across versions.
    show, exit_code = getattr(exc, "show", None), getattr(exc, "exit_code", None)
    if callable(show) and isinstance(exit_code, int):
        show()
        return exit_code
    if type(exc).__name__ == "Abort":
        sys.stderr.write("\n")
        return INTERRUPTED
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
