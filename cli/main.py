"""The `protoshift` command line: the commands and their options, declared; nothing else. The options
several commands share come in groups (cli/options.py): a command takes the ones it has and gets one
`ProviderFlags`, one `Verbosity`.

Only typer is imported at start-up: every command imports what it needs when it runs, so
`protoshift --help` and `translate request` start fast (measured in benchmarks/). Running and
error reporting live in cli/runner.py, the entry point (`protoshift.cli.runner:run`).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, cast

import click
import typer

try:  # click as recent typer vendors it (typer's click is the one that parses: its types must be used)
    from typer._click.types import Tuple as ClickTuple
except ImportError:  # an older typer runs on click itself
    from click.types import Tuple as ClickTuple  # type: ignore[no-redef,assignment,unused-ignore]

from protoshift.cli.exits import InputError, finish
from protoshift.cli.flags import MAX_WAIT, POLL_INTERVAL, ProviderFlags, ServeFlags, Verbosity
from protoshift.cli.help import HELP_WIDTH, described
from protoshift.cli.options import PROVIDER, VERBOSITY, NoStdin
from protoshift.cloud.kinds import BACKENDS

if TYPE_CHECKING:
    from protoshift.cli.io.console import Diagnostics
    from protoshift.cli.settings import Settings

app = typer.Typer(
    name="protoshift",
    help="OpenAI Chat Completions in; Anthropic Messages (or any OpenAI-compatible endpoint) out.",
    no_args_is_help=True,
    add_completion=True,  # --install-completion / --show-completion (typer's; imported only when used)
    rich_markup_mode=None,  # rich help formatting costs ~0.3 s of imports on every --help
    pretty_exceptions_enable=False,
    # help as wide as the terminal (click's own stops at 80 columns)
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": HELP_WIDTH},
    cls=described("")["cls"],
    epilog=described("")["epilog"],
)
translate_app = typer.Typer(
    help="Translate offline: OpenAI requests to Anthropic bodies, Anthropic responses and streams to OpenAI"
    " (--from anthropic: the other way).",
    no_args_is_help=True,
)
app.add_typer(translate_app, name="translate", **described("translate"))
batch_app = typer.Typer(
    help="Run whole JSONL files of requests: locally with N in flight, or on Anthropic's Message Batches.",
    no_args_is_help=True,
)
app.add_typer(batch_app, name="batch", **described("batch"))
aliases_app = typer.Typer(
    help="Model aliases ([aliases] in the config file), for chat -m and serve: list, set, remove.",
    invoke_without_command=True,
)
app.add_typer(aliases_app, name="aliases", **described("aliases"))
keys_app = typer.Typer(
    help="The gateway's client keys, each with its limits (requests and tokens per minute, a budget, models):"
    " add, list, remove, usage. With --state (or [state] url) in the shared Redis, else on this machine.",
    no_args_is_help=True,
)
app.add_typer(keys_app, name="keys", **described("keys"))


def _print_version(value: bool) -> None:
    if value:
        from protoshift import __version__

        typer.echo(f"protoshift {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option("--version", help="Print protoshift's version and exit.", callback=_print_version, is_eager=True),
    ] = False,
) -> None:
    """OpenAI Chat Completions in; Anthropic Messages (or any OpenAI-compatible endpoint) out."""


Inputs = Annotated[
    list[str] | None,
    typer.Argument(metavar="[INPUT]...", help="Files, folders or - for stdin (default: stdin).", show_default=False),
]
# -o is an output FILE in every command (- for stdout); a folder of outputs is -d.
OutDir = Annotated[
    Path | None,
    typer.Option(
        "--out-dir", "-d", metavar="DIR", help="Write one output per input here, same names.", file_okay=False
    ),
]
Output = Annotated[
    str | None,
    typer.Option("--output", "-o", metavar="FILE", help="Write the output to this file (default: stdout; - too)."),
]
Jsonl = Annotated[bool, typer.Option("--jsonl", help="One item per line; a failing line gives an error line.")]
Side = Annotated[
    str,
    typer.Option(
        "--from",
        metavar="API",
        help="The client's side: openai (OpenAI Chat requests in, Anthropic answers back to OpenAI), anthropic"
        " (Anthropic requests in, OpenAI answers back to Anthropic) or responses (OpenAI Responses requests in,"
        " chat answers back to Responses).",
    ),
]
KeyValue = ClickTuple([str, str])  # -O KEY VALUE
Json = Annotated[bool, typer.Option("--json", help="JSON output: one object per line.")]
# --model of the offline commands (the model to translate for): the provider group's declaration.
Model = Annotated[str | None, PROVIDER.option("model")]
SERVE = ServeFlags()  # serve's own options' defaults
# The provider options of the commands that send requests (chat, batch run): all of them.
SENDING = (
    "backend",
    "model",
    "base_url",
    "fallbacks",
    "timeout",
    "idle_timeout",
    "max_retries",
    "no_breaker",
    "allow_insecure",
)
# The batch commands but `run` ask the backend that has Message Batches (Anthropic), whatever is configured.
BATCH_LIST_COUNT = 20
MESSAGE_BATCHES = ProviderFlags(backend=next(kind.name for kind in BACKENDS.values() if kind.message_batches))


@translate_app.command("request", **described("translate request"))
@VERBOSITY.take("quiet")
def translate_request_command(
    inputs: Inputs = None,
    output: Output = None,
    out_dir: OutDir = None,
    jsonl: Jsonl = False,
    explain: Annotated[bool, typer.Option("--explain", help="Table on stderr of what happened to each field.")] = False,
    strict: Annotated[bool, typer.Option("--strict", help="Refuse to drop or approximate anything.")] = False,
    max_tokens: Annotated[
        int | None,
        typer.Option(
            "--max-tokens", min=1, metavar="N", help="max_tokens when the request sets none.", show_default="8192"
        ),
    ] = None,
    model: Model = None,
    side: Side = "openai",
    no_stdin: NoStdin = False,
    *,
    verbosity: Verbosity,
) -> None:
    """OpenAI chat request(s) -> Anthropic Messages request body, right for the model it names
    (--from anthropic: Anthropic request(s) -> OpenAI Chat Completions body)."""
    from protoshift.cli.translate.options import TranslateOptions
    from protoshift.cli.translate.run import run_translate

    options = TranslateOptions(
        out_dir, jsonl, explain, strict, default_max_tokens=max_tokens, model=model, side=side, output=output
    )
    finish(lambda: run_translate("request", inputs, options, verbosity.diagnostics()))


@translate_app.command("response", **described("translate response"))
@VERBOSITY.take("quiet")
def translate_response_command(
    inputs: Inputs = None,
    output: Output = None,
    out_dir: OutDir = None,
    jsonl: Jsonl = False,
    side: Side = "openai",
    no_stdin: NoStdin = False,
    *,
    verbosity: Verbosity,
) -> None:
    """Anthropic message(s) -> OpenAI chat.completion (--from anthropic: chat.completion -> Anthropic message)."""
    from protoshift.cli.translate.options import TranslateOptions
    from protoshift.cli.translate.run import run_translate

    options = TranslateOptions(out_dir, jsonl, side=side, output=output)
    finish(lambda: run_translate("response", inputs, options, verbosity.diagnostics()))


@translate_app.command("stream", **described("translate stream"))
@VERBOSITY.take("quiet")
def translate_stream_command(
    inputs: Inputs = None,
    output: Output = None,
    out_dir: OutDir = None,
    include_usage: Annotated[
        bool, typer.Option("--include-usage", help="End with a usage chunk (stream_options.include_usage).")
    ] = False,
    side: Side = "openai",
    no_stdin: NoStdin = False,
    *,
    verbosity: Verbosity,
) -> None:
    """Anthropic SSE stream -> OpenAI chat.completion.chunk SSE stream, live as it arrives
    (--from anthropic: OpenAI SSE -> Anthropic SSE)."""
    from protoshift.cli.translate.options import TranslateOptions
    from protoshift.cli.translate.run import run_translate

    options = TranslateOptions(out_dir, include_usage=include_usage, side=side, output=output)
    finish(lambda: run_translate("stream", inputs, options, verbosity.diagnostics()))


@app.command("chat", **described("chat"))
@PROVIDER.take(*SENDING, "max_tokens")
@VERBOSITY.take("verbose", "quiet")
def chat_command(
    input: Annotated[
        str | None,
        typer.Argument(metavar="[INPUT]", help="An OpenAI request file, or - for stdin (default: stdin when piped)."),
    ] = None,
    prompt: Annotated[
        str | None, typer.Option("--prompt", "-p", metavar="TEXT", help="Send this as a user message.")
    ] = None,
    system: Annotated[str | None, typer.Option("--system", metavar="TEXT", help="Add this system prompt.")] = None,
    stream: Annotated[bool, typer.Option("--stream", "-s", help="Stream tokens as they come.")] = False,
    fmt: Annotated[
        str,
        typer.Option(
            "--format",
            "-f",
            metavar="FORMAT",
            help="auto, text, json, sse or jsonl (auto: text on a terminal; JSON or SSE in a pipe).",
        ),
    ] = "auto",
    json_out: Annotated[bool, typer.Option("--json", help="JSON output: the chat.completion (-f json).")] = False,
    option: Annotated[
        list[str] | None,
        typer.Option(
            "--option",
            "-O",
            click_type=KeyValue,
            metavar="KEY VALUE",
            help="Set a request field: -O temperature 0.2 (VALUE is JSON when it parses; repeatable).",
        ),
    ] = None,
    attach: Annotated[
        list[str] | None,
        typer.Option(
            "--attach",
            "-a",
            metavar="FILE",
            help="Add an image, PDF or text file (or an https:// image) to your message; repeatable.",
        ),
    ] = None,
    continue_: Annotated[
        bool, typer.Option("--continue", "-c", help="Continue the latest conversation (see protoshift logs).")
    ] = False,
    cid: Annotated[
        str | None, typer.Option("--cid", metavar="ID", help="Continue the conversation with this id (or its start).")
    ] = None,
    no_log: Annotated[bool, typer.Option("--no-log", help="Keep this exchange out of the log.")] = False,
    raw: Annotated[bool, typer.Option("--raw", help="Print the answer's text as it came (no markdown).")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the upstream request body; send nothing.")] = False,
    interactive: Annotated[bool, typer.Option("--interactive", "-i", help="Chat on the terminal.")] = False,
    no_stdin: NoStdin = False,
    *,
    provider: ProviderFlags,
    verbosity: Verbosity,
) -> None:
    """Send an OpenAI chat request to Claude (or any OpenAI-compatible server); print the answer."""
    from protoshift.cli.chat.oneshot import run_chat
    from protoshift.cli.chat.request import ChatOptions

    diag = verbosity.diagnostics()
    if json_out:
        if fmt not in ("auto", "json"):
            raise InputError(f"--json and --format {fmt}: choose one", hint="--json is --format json")
        fmt = "json"
    settings = _settings(provider, diag)
    options = ChatOptions(
        input,
        prompt,
        system,
        stream,
        fmt,
        dry_run,
        interactive,
        model=provider.model,
        options=_pairs(option),
        attachments=attach or [],
        continue_latest=continue_,
        cid=cid,
        log=not no_log,
        raw=raw,
    )
    finish(lambda: run_chat(options, settings, diag))


@app.command("serve", **described("serve"))
@PROVIDER.take(
    "backend",
    "model",
    "base_url",
    "fallbacks",
    "timeout",
    "idle_timeout",
    "max_retries",
    "no_breaker",
    "allow_insecure",
    help={"model": "Model for requests that name none."},
)
@VERBOSITY.take("verbose", "quiet", help={"verbose": "Also log each upstream HTTP request and response (keys hidden)."})
def serve_command(
    host: Annotated[
        str, typer.Option("--host", metavar="HOST", help="Address to listen on; other than loopback needs --api-key.")
    ] = SERVE.host,
    port: Annotated[
        int, typer.Option("--port", metavar="PORT", help="Port to listen on (0: any free port).")
    ] = SERVE.port,
    workers: Annotated[
        int, typer.Option("--workers", "-w", metavar="N", min=1, help="Processes sharing the port.")
    ] = SERVE.workers,
    api_key: Annotated[
        list[str] | None,
        typer.Option(
            "--api-key",
            metavar="KEY",
            help="A key clients must send as a bearer token (repeatable; or PROTOSHIFT_SERVER_KEYS).",
        ),
    ] = None,
    allow_host: Annotated[
        list[str] | None,
        typer.Option(
            "--allow-host",
            metavar="NAME",
            help="A Host name to answer besides localhost (repeatable); a loopback server without keys answers no other.",
        ),
    ] = None,
    cors_origin: Annotated[
        list[str] | None,
        typer.Option(
            "--cors-origin",
            metavar="ORIGIN",
            help="A web origin whose pages may call the server (repeatable; * for any); none by default.",
        ),
    ] = None,
    request_log: Annotated[
        Path | None,
        typer.Option(
            "--request-log",
            metavar="FILE",
            help="Write the request log (one JSON line each) here, not stderr.",
            dir_okay=False,
        ),
    ] = None,
    # `--log` until 0.x: in every other command the log is the log of chat exchanges (chat --no-log, logs)
    old_log: Annotated[Path | None, typer.Option("--log", hidden=True, dir_okay=False)] = None,
    log_bodies: Annotated[
        bool, typer.Option("--log-bodies", help="Also write prompts and answers to the request log.")
    ] = False,
    grace: Annotated[
        float,
        typer.Option("--grace", metavar="SECONDS", min=0, help="Seconds streams in flight may finish after SIGTERM."),
    ] = SERVE.grace,
    max_body_mb: Annotated[
        float, typer.Option("--max-body-mb", metavar="MB", min=0.001, help="Largest request body, in MB.")
    ] = SERVE.max_body_mb,
    max_in_flight: Annotated[
        int,
        typer.Option("--max-in-flight", metavar="N", min=1, help="Requests answered at once per worker; past it, 429."),
    ] = SERVE.max_in_flight,
    ping_every: Annotated[
        float,
        typer.Option(
            "--ping-every",
            min=0.1,
            metavar="SECONDS",
            help="Mid-stream silence after which an Anthropic stream gets a ping (Claude Code gives up on a silent"
            " stream).",
        ),
    ] = SERVE.ping_every,
    state: Annotated[
        str | None,
        typer.Option(
            "--state",
            metavar="URL",
            help="A Redis or Valkey that replicas share breakers and stored responses through: redis://HOST:PORT/DB,"
            " rediss://..., unix:///PATH; its password in PROTOSHIFT_STATE_PASSWORD. Or [state] url in the config.",
        ),
    ] = None,
    state_fail: Annotated[
        str,
        typer.Option(
            "--state-fail",
            metavar="MODE",  # click.Choice's own metavar prints as <function> under typer's help
            click_type=click.Choice(["open", "closed"]),
            help="When the shared state does not answer: open (this replica's own state) or closed (refuse what"
            " needs it).",
        ),
    ] = SERVE.state_fail,
    state_timeout: Annotated[
        float,
        typer.Option(
            "--state-timeout",
            metavar="MS",
            min=1,
            help="Milliseconds one call to the shared state may take before it counts as not answering (the"
            " --state-fail policy then applies for a second). Raise it on a loaded host: a replica whose calls"
            " time out counts its limits on its own meanwhile.",
        ),
    ] = SERVE.state_timeout_ms,
    *,
    provider: ProviderFlags,
    verbosity: Verbosity,
) -> None:
    """An OpenAI-compatible endpoint (/v1/chat/completions, /v1/models) and an Anthropic-compatible one
    (/v1/messages, /v1/messages/count_tokens: Claude Code, the anthropic SDK) in front of the backend."""
    from protoshift.cli.serve.command import run_serve

    diag = verbosity.diagnostics()
    settings = _settings(provider, diag)
    options = ServeFlags(
        host=host,
        port=port,
        workers=workers,
        api_keys=api_key or [],
        allow_hosts=allow_host or [],
        cors_origins=cors_origin or [],
        log=request_log or old_log,
        log_bodies=log_bodies,
        verbose=verbosity.verbose,
        grace=grace,
        max_body_mb=max_body_mb,
        max_in_flight=max_in_flight,
        ping_every=ping_every,
        state=state or settings.state_url(),
        state_fail=state_fail,
        state_timeout_ms=state_timeout,
    )
    finish(lambda: run_serve(options, settings, diag))


# -- batch -----------------------------------------------------------------------------------------

BatchInput = Annotated[
    str, typer.Argument(metavar="INPUT", help="OpenAI batch input JSONL (or one chat request per line).")
]
BatchId = Annotated[str, typer.Argument(metavar="BATCH_ID", help="A Message Batch id (msgbatch_...).")]
IdMap = Annotated[
    Path | None,
    typer.Option(
        "--id-map", metavar="FILE", help="JSON file of safe custom_id -> original (written / read).", dir_okay=False
    ),
]


def count_option(help: str, default: int, *, smallest: int = 0) -> Any:
    """-n N: how many, newest first (logs, batch list), as git log -n and head -n."""
    return typer.Option("--count", "-n", metavar="N", min=smallest, help=help, show_default=str(default))


def _settings(provider: ProviderFlags, diag: Diagnostics) -> Settings:
    """The provider options given, merged with the environment and the config file (whose unknown
    keys are warned of on `diag`)."""
    from protoshift.cli.settings import resolve_settings

    return resolve_settings(provider, warn=diag.warn)


@batch_app.command("run", **described("batch run"))
@PROVIDER.take(*SENDING)
@VERBOSITY.take("verbose", "quiet")
def batch_run_command(
    input: BatchInput,
    output: Annotated[
        str | None,
        typer.Option(
            "--output",
            "-o",
            metavar="FILE",
            help="OpenAI Batch output JSONL, appended as requests finish; - for stdout (not with --resume)."
            " Required, except with --validate-only.",
            show_default=False,
        ),
    ] = None,
    concurrency: Annotated[
        int, typer.Option("--concurrency", "-j", metavar="N", min=1, help="Requests in flight (as make -j).")
    ] = 16,
    resume: Annotated[bool, typer.Option("--resume", help="Skip the custom_ids already in OUTPUT.")] = False,
    validate_only: Annotated[bool, typer.Option("--validate-only", help="Check every line; send nothing.")] = False,
    no_stdin: NoStdin = False,
    *,
    provider: ProviderFlags,
    verbosity: Verbosity,
) -> None:
    """Run every line of INPUT through the backend, N at a time; one output line per input line."""
    from protoshift.cli.batch.run import RunOptions, run_batch

    diag = verbosity.diagnostics()
    settings = _settings(provider, diag)
    options = RunOptions(input, output, concurrency, resume, validate_only)
    finish(lambda: run_batch(options, settings, diag))


@batch_app.command("submit", **described("batch submit"))
@PROVIDER.take("model", "base_url", "timeout", "max_retries", "no_breaker", "allow_insecure", base=MESSAGE_BATCHES)
@VERBOSITY.take("verbose", "quiet")
def batch_submit_command(
    input: BatchInput,
    # Anthropic's limits per batch are the defaults (translator.batch); lower them to test the splitting.
    max_requests: Annotated[int | None, typer.Option("--max-requests-per-batch", min=1, hidden=True)] = None,
    max_bytes: Annotated[int | None, typer.Option("--max-batch-bytes", min=1024, hidden=True)] = None,
    no_stdin: NoStdin = False,
    *,
    provider: ProviderFlags,
    verbosity: Verbosity,
) -> None:
    """Create Anthropic Message Batches from INPUT (split as the limits need); print their ids."""
    from protoshift.cli.batch.message_batches import SubmitOptions, run_submit

    diag = verbosity.diagnostics()
    settings = _settings(provider, diag)
    options = SubmitOptions.with_limits(input, max_requests, max_bytes)
    finish(lambda: run_submit(options, settings, diag))


@batch_app.command("status", **described("batch status"))
@PROVIDER.take("base_url", "timeout", "max_retries", base=MESSAGE_BATCHES)
@VERBOSITY.take("verbose", "quiet")
def batch_status_command(
    batch_id: BatchId,
    wait: Annotated[bool, typer.Option("--wait", help="Poll until the batch has ended.")] = False,
    old_wait: Annotated[bool, typer.Option("-w", hidden=True)] = False,  # -w is serve's --workers
    poll_interval: Annotated[
        float, typer.Option("--poll-interval", metavar="SECONDS", help="Seconds between polls.")
    ] = POLL_INTERVAL,
    max_wait: Annotated[
        float,
        typer.Option("--max-wait", metavar="SECONDS", help="With --wait: give up after this many seconds (exit 1)."),
    ] = MAX_WAIT,
    *,
    provider: ProviderFlags,
    verbosity: Verbosity,
) -> None:
    """A batch's processing status and request counts (JSON on stdout)."""
    from protoshift.cli.batch.message_batches import run_status

    wait = wait or old_wait
    diag = verbosity.diagnostics()
    settings = _settings(provider, diag)
    finish(lambda: run_status(batch_id, wait, poll_interval, settings, diag, max_wait))


@batch_app.command("results", **described("batch results"))
@PROVIDER.take("base_url", "timeout", "idle_timeout", "max_retries", base=MESSAGE_BATCHES)
@VERBOSITY.take("verbose", "quiet")
def batch_results_command(
    batch_id: BatchId, output: Output = None, *, provider: ProviderFlags, verbosity: Verbosity
) -> None:
    """Download an ended batch's results as OpenAI Batch output lines, under the original custom_ids."""
    from protoshift.cli.batch.message_batches import run_results

    diag = verbosity.diagnostics()
    settings = _settings(provider, diag)
    finish(lambda: run_results(batch_id, _file(output), settings, diag))


@batch_app.command("cancel", **described("batch cancel"))
@PROVIDER.take("base_url", "timeout", "max_retries", base=MESSAGE_BATCHES)
@VERBOSITY.take("verbose", "quiet")
def batch_cancel_command(batch_id: BatchId, *, provider: ProviderFlags, verbosity: Verbosity) -> None:
    """Ask Anthropic to cancel a batch (it goes on `canceling`, then `ended`)."""
    from protoshift.cli.batch.message_batches import run_cancel

    diag = verbosity.diagnostics()
    settings = _settings(provider, diag)
    finish(lambda: run_cancel(batch_id, settings, diag))


@batch_app.command("list", **described("batch list"))
@PROVIDER.take("base_url", "timeout", "max_retries", base=MESSAGE_BATCHES)
@VERBOSITY.take("verbose", "quiet")
def batch_list_command(
    count: Annotated[int | None, count_option("How many, newest first.", BATCH_LIST_COUNT, smallest=1)] = None,
    old_limit: Annotated[int | None, typer.Option("--limit", min=1, hidden=True)] = None,  # --count's name until 0.x
    *,
    provider: ProviderFlags,
    verbosity: Verbosity,
) -> None:
    """Your Message Batches, one JSON line each."""
    from protoshift.cli.batch.message_batches import run_list

    diag = verbosity.diagnostics()
    settings = _settings(provider, diag)
    limit = count or old_limit or BATCH_LIST_COUNT
    finish(lambda: run_list(limit, settings, diag))


@app.command("logs", **described("logs"))
@VERBOSITY.take("quiet")
def logs_command(
    # the default is logs.commands.DEFAULT_COUNT, written here: --help does not import the log's modules
    count: Annotated[int | None, count_option("How many exchanges, newest first (0: all; a whole --cid).", 10)] = None,
    search: Annotated[
        str | None,
        typer.Option("--search", metavar="TEXT", help="Only the exchanges whose messages or answer hold TEXT."),
    ] = None,
    old_search: Annotated[str | None, typer.Option("-s", hidden=True)] = None,  # -s is chat's --stream
    cid: Annotated[
        str | None, typer.Option("--cid", metavar="ID", help="One conversation, in order (an id or its start).")
    ] = None,
    json_lines: Json = False,
    path: Annotated[bool, typer.Option("--path", help="Print where the log is kept, and nothing else.")] = False,
    *,
    verbosity: Verbosity,
) -> None:
    """The log of chat exchanges: prompts, answers, models, tokens, cost (continue one: chat -c, chat --cid)."""
    from protoshift.cli.logs.commands import LogQuery, run_logs

    query = LogQuery(count, search or old_search, cid, json_lines, path)
    finish(lambda: run_logs(query, verbosity.diagnostics()))


@app.command("models", **described("models"))
@PROVIDER.take("backend", "base_url", "timeout", "max_retries", "allow_insecure")
@VERBOSITY.take("verbose", "quiet")
def models_command(json_lines: Json = False, *, provider: ProviderFlags, verbosity: Verbosity) -> None:
    """The models the backend offers (GET /v1/models), then your aliases."""
    from protoshift.cli.models import run_models

    diag = verbosity.diagnostics()
    settings = _settings(provider, diag)
    finish(lambda: run_models(settings, json_lines, diag))


@aliases_app.callback()
def aliases_command(ctx: typer.Context, json_lines: Json = False) -> None:
    """Model aliases ([aliases] in the config file): NAME -> MODEL or BACKEND:MODEL."""
    if ctx.invoked_subcommand is None:
        from protoshift.cli.aliases_cmd import run_list_aliases

        finish(lambda: run_list_aliases(json_lines))


@aliases_app.command("list", **described("aliases list"))
def aliases_list_command(json_lines: Json = False) -> None:
    """Every alias, as NAME -> MODEL."""
    from protoshift.cli.aliases_cmd import run_list_aliases

    finish(lambda: run_list_aliases(json_lines))


@aliases_app.command("set", **described("aliases set"))
@VERBOSITY.take("quiet")
def aliases_set_command(
    name: Annotated[str, typer.Argument(metavar="NAME", help="The alias (or a pattern: gpt-*).")],
    model: Annotated[
        str, typer.Argument(metavar="MODEL", help="The model it stands for (BACKEND:MODEL names the backend too).")
    ],
    *,
    verbosity: Verbosity,
) -> None:
    """Set NAME to stand for MODEL (written to [aliases] in the config file; the rest of it is kept)."""
    from protoshift.cli.aliases_cmd import run_set_alias

    finish(lambda: run_set_alias(name, model, verbosity.diagnostics()))


@aliases_app.command("remove", **described("aliases remove"))
@VERBOSITY.take("quiet")
def aliases_remove_command(
    name: Annotated[str, typer.Argument(metavar="NAME", help="The alias to remove.")], *, verbosity: Verbosity
) -> None:
    """Remove the alias NAME from the config file."""
    from protoshift.cli.aliases_cmd import run_remove_alias

    finish(lambda: run_remove_alias(name, verbosity.diagnostics()))


StateOption = Annotated[
    str | None,
    typer.Option(
        "--state",
        metavar="URL",
        help="The Redis or Valkey `serve --state` shares (or [state] url in the config); without: this machine's"
        " keys (a file in the data folder).",
    ),
]


def _state_url(given: str | None) -> str | None:
    """--state, else [state] url from the config file, as `serve` reads it."""
    if given:
        return given
    from protoshift.cli.settings import load_config_file, state_url

    return state_url(load_config_file())


@keys_app.command("add", **described("keys add"))
@VERBOSITY.take("quiet")
def keys_add_command(
    name: Annotated[
        str,
        typer.Argument(metavar="NAME", help="The key's name (letters, digits, . _ -): the log and metrics name it."),
    ],
    rpm: Annotated[int | None, typer.Option("--rpm", min=1, metavar="N", help="Requests per minute.")] = None,
    tpm: Annotated[int | None, typer.Option("--tpm", min=1, metavar="N", help="Tokens (in + out) per minute.")] = None,
    budget: Annotated[
        float | None,
        typer.Option(
            "--budget",
            min=0.0001,
            metavar="USD",
            help="Spend per --period (a soft cap: the request that crosses it completes, the next is refused).",
        ),
    ] = None,
    period: Annotated[
        str | None,
        typer.Option(
            "--period",
            click_type=click.Choice(["day", "month"]),
            metavar="PERIOD",
            help="The budget's period, UTC: day or month [default: month].",
        ),
    ] = None,
    models: Annotated[
        list[str] | None,
        typer.Option(
            "--models",
            metavar="PATTERN",
            help="Models it may use, after aliases (repeatable or comma-separated; * ? [] patterns); default: any.",
        ),
    ] = None,
    state: StateOption = None,
    *,
    verbosity: Verbosity,
) -> None:
    """Make a client key NAME with these limits; print it (once: only its SHA-256 is kept)."""
    from protoshift.cli.keys_cmd import run_add

    diag = verbosity.diagnostics()
    finish(
        lambda: run_add(
            name, rpm=rpm, tpm=tpm, budget=budget, period=period, models=models or [], state_url=_state_url(state),
            diag=diag,
        )
    )  # fmt: skip


@keys_app.command("list", **described("keys list"))
@VERBOSITY.take("quiet")
def keys_list_command(state: StateOption = None, json_lines: Json = False, *, verbosity: Verbosity) -> None:
    """Every client key: its name, limits and when it was made (never the key)."""
    from protoshift.cli.keys_cmd import run_list

    diag = verbosity.diagnostics()
    finish(lambda: run_list(_state_url(state), json_lines, diag))


@keys_app.command("remove", **described("keys remove"))
@VERBOSITY.take("quiet")
def keys_remove_command(
    name: Annotated[str, typer.Argument(metavar="NAME", help="The key to remove.")],
    state: StateOption = None,
    *,
    verbosity: Verbosity,
) -> None:
    """Remove the client key NAME (and its usage): servers refuse it within a second."""
    from protoshift.cli.keys_cmd import run_remove

    diag = verbosity.diagnostics()
    finish(lambda: run_remove(name, _state_url(state), diag))


@keys_app.command("usage", **described("keys usage"))
@VERBOSITY.take("quiet")
def keys_usage_command(
    name: Annotated[str | None, typer.Argument(metavar="[NAME]", help="One key (default: every key).")] = None,
    state: StateOption = None,
    json_lines: Json = False,
    *,
    verbosity: Verbosity,
) -> None:
    """Requests, tokens and spend of each key today and this month (UTC), as the servers counted them."""
    from protoshift.cli.keys_cmd import run_usage

    diag = verbosity.diagnostics()
    finish(lambda: run_usage(name, _state_url(state), json_lines, diag))


@translate_app.command("batch-input", **described("translate batch-input"))
@VERBOSITY.take("quiet")
def translate_batch_input_command(
    input: Annotated[
        str | None, typer.Argument(metavar="[INPUT]", help="OpenAI batch input JSONL, or - for stdin.")
    ] = None,
    output: Output = None,
    id_map: IdMap = None,
    model: Model = None,
    strict: Annotated[bool, typer.Option("--strict", help="Refuse to drop or approximate anything.")] = False,
    max_tokens: Annotated[
        int | None,
        typer.Option(
            "--max-tokens", min=1, metavar="N", help="max_tokens when a request sets none.", show_default="8192"
        ),
    ] = None,
    no_stdin: NoStdin = False,
    *,
    verbosity: Verbosity,
) -> None:
    """OpenAI batch input JSONL -> Anthropic Message Batches `{"requests": [...]}` body."""
    from protoshift.cli.translate.batch_files import run_batch_input

    diag = verbosity.diagnostics()
    finish(
        lambda: run_batch_input(
            input, _file(output), id_map, diag, strict=strict, default_max_tokens=max_tokens, model=model
        )
    )


@translate_app.command("batch-results", **described("translate batch-results"))
@VERBOSITY.take("quiet")
def translate_batch_results_command(
    input: Annotated[
        str | None, typer.Argument(metavar="[INPUT]", help="Anthropic batch results JSONL, or - for stdin.")
    ] = None,
    output: Output = None,
    id_map: IdMap = None,
    no_stdin: NoStdin = False,
    *,
    verbosity: Verbosity,
) -> None:
    """Anthropic Message Batches results JSONL -> OpenAI Batch output lines."""
    from protoshift.cli.translate.batch_files import run_batch_results

    finish(lambda: run_batch_results(input, _file(output), id_map, verbosity.diagnostics()))


def _pairs(values: list[str] | None) -> list[tuple[str, str]]:
    """-O KEY VALUE pairs (click gives each as a tuple; typer's annotation cannot say so)."""
    return [(str(pair[0]), str(pair[1])) for pair in cast("list[tuple[str, str]]", values or [])]


def _file(output: str | None) -> Path | None:
    """-o FILE; `-o -` (like no -o) is stdout."""
    return None if output in (None, "-") else Path(output)


__all__ = ["app"]
