"""The `protoshift` command line.

Only typer is imported at start-up: every command imports what it needs when it runs, so
`protoshift --help` and `translate request` start fast (measured in benchmarks/).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from protoshift.cli.exits import BAD_INPUT, INTERRUPTED, OK, CLIError

if TYPE_CHECKING:
    from protoshift.cli.io.console import Diagnostics

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
batch_app = typer.Typer(
    help="Run whole JSONL files of requests: locally with N in flight, or on Anthropic's Message Batches.",
    no_args_is_help=True,
)
app.add_typer(batch_app, name="batch")

Inputs = Annotated[
    list[str] | None, typer.Argument(help="Files, folders or - for stdin (default: stdin).", show_default=False)
]
OutDir = Annotated[
    Path | None, typer.Option("--out-dir", "-o", help="Write one output per input here, same names.", file_okay=False)
]
Jsonl = Annotated[bool, typer.Option("--jsonl", help="One item per line; a failing line gives an error line.")]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="No notes on stderr, errors only.")]
# Options every command that talks to a provider shares (chat, batch).
Backend = Annotated[str | None, typer.Option("--backend", "-b", help="anthropic | openai | mock [anthropic].")]
Model = Annotated[str | None, typer.Option("--model", "-m", help="Model to ask (overrides the request's).")]
BaseUrl = Annotated[str | None, typer.Option("--base-url", help="The primary backend's base URL.")]
Fallback = Annotated[
    list[str] | None, typer.Option("--fallback", help="BACKEND[:MODEL] to try when the one before fails.")
]
Timeout = Annotated[float | None, typer.Option("--timeout", help="Seconds to wait for the provider [600].")]
MaxRetries = Annotated[int | None, typer.Option("--max-retries", min=0, help="Retries on failure [2].")]
NoBreaker = Annotated[bool, typer.Option("--no-breaker", help="Turn the circuit breaker off.")]
AllowInsecure = Annotated[
    bool, typer.Option("--allow-insecure", help="Allow a key over plain http:// to a remote host.")
]
Verbose = Annotated[bool, typer.Option("--verbose", "-v", help="Log requests and responses (keys hidden).")]


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
    model: Model = None,
    quiet: Quiet = False,
) -> None:
    """OpenAI chat request(s) -> Anthropic Messages request body, right for the model it names."""
    from protoshift.cli.translate.run import TranslateOptions, run_translate

    options = TranslateOptions(out_dir, jsonl, explain, strict, default_max_tokens=max_tokens, model=model)
    _finish(lambda: run_translate("request", inputs, options, _diagnostics(quiet=quiet)))


@translate_app.command("response")
def translate_response_command(
    inputs: Inputs = None, out_dir: OutDir = None, jsonl: Jsonl = False, quiet: Quiet = False
) -> None:
    """Anthropic message(s) -> OpenAI chat.completion."""
    from protoshift.cli.translate.run import TranslateOptions, run_translate

    _finish(lambda: run_translate("response", inputs, TranslateOptions(out_dir, jsonl), _diagnostics(quiet=quiet)))


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
    from protoshift.cli.translate.run import TranslateOptions, run_translate

    options = TranslateOptions(out_dir, include_usage=include_usage)
    _finish(lambda: run_translate("stream", inputs, options, _diagnostics(quiet=quiet)))


@app.command("chat")
def chat_command(
    input: Annotated[
        str | None, typer.Argument(help="An OpenAI request file, or - for stdin (default: stdin when piped).")
    ] = None,
    prompt: Annotated[str | None, typer.Option("--prompt", "-p", help="Send this as a user message.")] = None,
    system: Annotated[str | None, typer.Option("--system", help="Add this system prompt.")] = None,
    model: Model = None,
    max_tokens: Annotated[int | None, typer.Option("--max-tokens", min=1, help="Answer length limit.")] = None,
    stream: Annotated[bool, typer.Option("--stream", "-s", help="Stream tokens as they come.")] = False,
    fmt: Annotated[
        str, typer.Option("--format", "-f", help="auto | text | json | sse | jsonl (auto: text on a terminal).")
    ] = "auto",
    backend: Backend = None,
    base_url: BaseUrl = None,
    fallback: Fallback = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the upstream request body; send nothing.")] = False,
    interactive: Annotated[bool, typer.Option("--interactive", "-i", help="Chat on the terminal.")] = False,
    timeout: Timeout = None,
    max_retries: MaxRetries = None,
    no_breaker: NoBreaker = False,
    allow_insecure: AllowInsecure = False,
    verbose: Verbose = False,
    quiet: Quiet = False,
) -> None:
    """Send an OpenAI chat request to Claude (or any OpenAI-compatible server); print the answer."""
    from protoshift.cli.chat.oneshot import ChatOptions, run_chat

    settings = _settings(
        backend, model, base_url, fallback, timeout, max_retries, no_breaker, allow_insecure, max_tokens
    )
    options = ChatOptions(input, prompt, system, stream, fmt, dry_run, interactive)
    _finish(lambda: run_chat(options, settings, _diagnostics(quiet=quiet, verbose=verbose)))


# -- batch -----------------------------------------------------------------------------------------

BatchInput = Annotated[str, typer.Argument(help="OpenAI batch input JSONL (or one chat request per line).")]
BatchId = Annotated[str, typer.Argument(help="A Message Batch id (msgbatch_...).")]
IdMap = Annotated[
    Path | None,
    typer.Option("--id-map", help="JSON file of safe custom_id -> original (written / read).", dir_okay=False),
]


def _settings(
    backend: str | None = None,
    model: str | None = None,
    base_url: str | None = None,
    fallback: list[str] | None = None,
    timeout: float | None = None,
    max_retries: int | None = None,
    no_breaker: bool = False,
    allow_insecure: bool = False,
    max_tokens: int | None = None,
) -> Any:
    """The shared provider options, merged with the environment and the config file."""
    from protoshift.cli.settings import resolve_settings

    return resolve_settings(
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


@batch_app.command("run")
def batch_run_command(
    input: BatchInput,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="OpenAI Batch output JSONL.", dir_okay=False)
    ] = None,
    concurrency: Annotated[int, typer.Option("--concurrency", "-c", min=1, help="Requests in flight.")] = 16,
    resume: Annotated[bool, typer.Option("--resume", help="Skip the custom_ids already in OUTPUT.")] = False,
    validate_only: Annotated[bool, typer.Option("--validate-only", help="Check every line; send nothing.")] = False,
    backend: Backend = None,
    model: Model = None,
    base_url: BaseUrl = None,
    fallback: Fallback = None,
    timeout: Timeout = None,
    max_retries: MaxRetries = None,
    no_breaker: NoBreaker = False,
    allow_insecure: AllowInsecure = False,
    verbose: Verbose = False,
    quiet: Quiet = False,
) -> None:
    """Run every line of INPUT through the backend, N at a time; one output line per input line."""
    from protoshift.cli.batch.run import RunOptions, run_batch

    settings = _settings(backend, model, base_url, fallback, timeout, max_retries, no_breaker, allow_insecure)
    options = RunOptions(input, output, concurrency, resume, validate_only)
    _finish(lambda: run_batch(options, settings, _diagnostics(quiet=quiet, verbose=verbose)))


@batch_app.command("submit")
def batch_submit_command(
    input: BatchInput,
    model: Model = None,
    base_url: BaseUrl = None,
    timeout: Timeout = None,
    max_retries: MaxRetries = None,
    no_breaker: NoBreaker = False,
    allow_insecure: AllowInsecure = False,
    max_requests: Annotated[int, typer.Option("--max-requests-per-batch", min=1, hidden=True)] = 100_000,
    max_bytes: Annotated[int, typer.Option("--max-batch-bytes", min=1024, hidden=True)] = 256 * 1024 * 1024,
    verbose: Verbose = False,
    quiet: Quiet = False,
) -> None:
    """Create Anthropic Message Batches from INPUT (split as the limits need); print their ids."""
    from protoshift.cli.batch.message_batches import SubmitOptions, run_submit

    settings = _settings("anthropic", model, base_url, None, timeout, max_retries, no_breaker, allow_insecure)
    options = SubmitOptions(input, max_requests, max_bytes)
    _finish(lambda: run_submit(options, settings, _diagnostics(quiet=quiet, verbose=verbose)))


@batch_app.command("status")
def batch_status_command(
    batch_id: BatchId,
    wait: Annotated[bool, typer.Option("--wait", "-w", help="Poll until the batch has ended.")] = False,
    poll_interval: Annotated[float, typer.Option("--poll-interval", help="Seconds between polls.")] = 30.0,
    base_url: BaseUrl = None,
    timeout: Timeout = None,
    max_retries: MaxRetries = None,
    verbose: Verbose = False,
    quiet: Quiet = False,
) -> None:
    """A batch's processing status and request counts (JSON on stdout)."""
    from protoshift.cli.batch.message_batches import run_status

    settings = _settings("anthropic", None, base_url, None, timeout, max_retries)
    _finish(lambda: run_status(batch_id, wait, poll_interval, settings, _diagnostics(quiet=quiet, verbose=verbose)))


@batch_app.command("results")
def batch_results_command(
    batch_id: BatchId,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write here (default: stdout).", dir_okay=False)
    ] = None,
    base_url: BaseUrl = None,
    timeout: Timeout = None,
    max_retries: MaxRetries = None,
    verbose: Verbose = False,
    quiet: Quiet = False,
) -> None:
    """Download an ended batch's results as OpenAI Batch output lines, under the original custom_ids."""
    from protoshift.cli.batch.message_batches import run_results

    settings = _settings("anthropic", None, base_url, None, timeout, max_retries)
    _finish(lambda: run_results(batch_id, output, settings, _diagnostics(quiet=quiet, verbose=verbose)))


@batch_app.command("cancel")
def batch_cancel_command(
    batch_id: BatchId, base_url: BaseUrl = None, verbose: Verbose = False, quiet: Quiet = False
) -> None:
    """Ask Anthropic to cancel a batch (it goes on `canceling`, then `ended`)."""
    from protoshift.cli.batch.message_batches import run_cancel

    settings = _settings("anthropic", None, base_url)
    _finish(lambda: run_cancel(batch_id, settings, _diagnostics(quiet=quiet, verbose=verbose)))


@batch_app.command("list")
def batch_list_command(
    limit: Annotated[int, typer.Option("--limit", "-n", min=1, help="How many, newest first.")] = 20,
    base_url: BaseUrl = None,
    verbose: Verbose = False,
    quiet: Quiet = False,
) -> None:
    """Your Message Batches, one JSON line each."""
    from protoshift.cli.batch.message_batches import run_list

    settings = _settings("anthropic", None, base_url)
    _finish(lambda: run_list(limit, settings, _diagnostics(quiet=quiet, verbose=verbose)))


@translate_app.command("batch-input")
def translate_batch_input_command(
    input: Annotated[str | None, typer.Argument(help="OpenAI batch input JSONL, or - for stdin.")] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write here (default: stdout).", dir_okay=False)
    ] = None,
    id_map: IdMap = None,
    model: Model = None,
    strict: Annotated[bool, typer.Option("--strict", help="Refuse to drop or approximate anything.")] = False,
    max_tokens: Annotated[
        int | None, typer.Option("--max-tokens", min=1, help="max_tokens when a request sets none [default: 8192].")
    ] = None,
    quiet: Quiet = False,
) -> None:
    """OpenAI batch input JSONL -> Anthropic Message Batches `{"requests": [...]}` body."""
    from protoshift.cli.translate.batch_files import run_batch_input

    diag = _diagnostics(quiet=quiet)
    _finish(
        lambda: run_batch_input(input, output, id_map, diag, strict=strict, default_max_tokens=max_tokens, model=model)
    )


@translate_app.command("batch-results")
def translate_batch_results_command(
    input: Annotated[str | None, typer.Argument(help="Anthropic batch results JSONL, or - for stdin.")] = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write here (default: stdout).", dir_okay=False)
    ] = None,
    id_map: IdMap = None,
    quiet: Quiet = False,
) -> None:
    """Anthropic Message Batches results JSONL -> OpenAI Batch output lines."""
    from protoshift.cli.translate.batch_files import run_batch_results

    _finish(lambda: run_batch_results(input, output, id_map, _diagnostics(quiet=quiet)))


def _without_httpx_cli() -> None:
    """`import httpx` also imports httpx's own command line (click, rich.console, rich.progress,
    pygments: ~0.27 s) whenever click and rich are installed, as they are here. protoshift never
    runs it; a None entry makes httpx fall back to its stub `main` (measured in benchmarks/)."""
    if "httpx" not in sys.modules:
        sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]


def _diagnostics(*, quiet: bool = False, verbose: bool = False) -> Diagnostics:
    from protoshift.cli.io.console import Diagnostics

    return Diagnostics(quiet=quiet, verbose=verbose)


def _finish(command: Callable[[], int]) -> None:
    """Run a command's body. The reader going away (`| head`) is a quiet success: left to click,
    the EPIPE would become exit 1, which here means the provider failed."""
    try:
        code = command()
    except BrokenPipeError:
        _quiet_broken_pipe()
        code = OK
    if code != OK:
        raise typer.Exit(code)


def run() -> None:
    """Console-script entry point."""
    sys.exit(main())


def main(argv: list[str] | None = None) -> int:
    """Run the command line on `argv` (default: `sys.argv[1:]`) and return the exit code. Every
    expected failure becomes one stderr line and its code; drivable in-process (tests)."""
    _without_httpx_cli()
    try:
        code = app(args=argv, prog_name="protoshift", standalone_mode=False)
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
    return code if isinstance(code, int) else OK


def _report(exc: CLIError) -> int:
    from protoshift.cli.io.console import Diagnostics

    Diagnostics().error(exc.message, exc.hint)
    return exc.code


def _expected_failure(exc: Exception) -> int:
    """Failures that have a one-line message and an exit code; anything else is a bug: re-raised."""
    if "protoshift.cloud" in sys.modules or "protoshift.translator" in sys.modules:
        from protoshift.cli.chat.oneshot import map_failure

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


__all__ = ["BAD_INPUT", "app", "main", "run"]
