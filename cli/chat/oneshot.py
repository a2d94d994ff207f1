"""`protoshift chat`: one OpenAI request in, one answer out, through a backend chain."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from protoshift.cli.chat.render import make_renderer
from protoshift.cli.exits import OK, CLIError, InputError
from protoshift.cli.io.console import Diagnostics, stdin_is_terminal, stdout_is_terminal
from protoshift.cli.io.inputs import Source, parse_json
from protoshift.cli.io.output import json_document, write_stdout
from protoshift.cli.settings import BackendSpec, Settings
from protoshift.translator import TranslationError

Format = Literal["auto", "text", "json", "sse", "jsonl"]
FORMATS: tuple[str, ...] = ("auto", "text", "json", "sse", "jsonl")


@dataclass
class ChatOptions:
    input: str | None = None
    prompt: str | None = None
    system: str | None = None
    stream: bool = False
    format: str = "auto"
    dry_run: bool = False
    interactive: bool = False


def run_chat(options: ChatOptions, settings: Settings, diag: Diagnostics) -> int:
    if options.format not in FORMATS:
        raise InputError(f"--format {options.format!r}: use one of {', '.join(FORMATS)}")
    wants_session = options.interactive or (options.input is None and options.prompt is None and stdin_is_terminal())
    if wants_session:
        from protoshift.cli.chat.session import run_interactive

        return run_interactive(options, settings, diag)
    request = build_request(options, settings)
    if options.dry_run:
        return _dry_run(request, settings, diag)
    fmt = resolve_format(options.format, streaming=bool(request.get("stream")))
    if fmt in ("sse", "jsonl"):
        request["stream"] = True
    return asyncio.run(_answer(request, fmt, settings, diag))


def resolve_format(fmt: str, *, streaming: bool) -> str:
    """`auto`: text for a person at a terminal; JSON (or SSE when streaming) for a pipe."""
    if fmt != "auto":
        return fmt
    if stdout_is_terminal():
        return "text"
    return "sse" if streaming else "json"


def build_request(options: ChatOptions, settings: Settings, *, empty_ok: bool = False) -> dict[str, Any]:
    """The OpenAI request: loaded from INPUT/stdin, or built from -p/--system, then the flags applied.

    With -p, piped stdin is either a request (JSON: the prompt is appended to it) or text the prompt
    is about (`cat notes.md | protoshift chat -p "Summarize"`: one user message, prompt first).
    `empty_ok`: no INPUT and no -p gives a request with no messages (an interactive session's start)."""
    request: dict[str, Any] | None = None
    piped_text: str | None = None
    if options.input is not None and options.input != "-":
        request = _parse_request(Source(options.input, _path(options.input)).read_bytes(), options.input)
    elif options.input == "-" or not stdin_is_terminal():
        data = Source("<stdin>").read_bytes()
        if not data.strip():
            pass  # an empty pipe (`< /dev/null`, a script's closed stdin): nothing loaded
        elif options.prompt is None or data.lstrip()[:1] == b"{":
            request = _parse_request(data, "<stdin>")
        else:
            piped_text = data.decode("utf-8", errors="replace")
    if request is None:
        if options.prompt is None and not empty_ok:
            where = "<stdin> is empty: " if not stdin_is_terminal() else ""
            raise InputError(f"{where}nothing to send: give a request file, pipe JSON into stdin, or use -p PROMPT")
        request = {"messages": []}
    messages: list[Any] = request["messages"]
    if options.system is not None:
        at = 0
        while (
            at < len(messages)
            and isinstance(messages[at], dict)
            and messages[at].get("role") in ("system", "developer")
        ):
            at += 1
        messages.insert(at, {"role": "system", "content": options.system})
    if options.prompt is not None:
        text = options.prompt if piped_text is None else f"{options.prompt}\n\n{piped_text}"
        messages.append({"role": "user", "content": text})
    if settings.model or "model" not in request:
        request["model"] = settings.default_model(settings.backend)
    if settings.max_tokens is not None:
        request.pop("max_tokens", None)
        request["max_completion_tokens"] = settings.max_tokens
    if options.stream:
        request["stream"] = True
    return request


def _parse_request(data: bytes, name: str) -> dict[str, Any]:
    loaded = parse_json(data, name)
    if not isinstance(loaded, dict):
        raise InputError(f"{name}: a chat request must be a JSON object")
    if not isinstance(loaded.get("messages", []), list):
        raise InputError(f"{name}: messages: expected an array")
    loaded.setdefault("messages", [])
    return loaded


def _path(text: str) -> Any:
    from pathlib import Path

    path = Path(text)
    if not path.is_file():
        raise InputError(f"{text}: no such file")
    return path


def _dry_run(request: dict[str, Any], settings: Settings, diag: Diagnostics) -> int:
    """Print the upstream body that would be sent (headers, key redacted, with -v); send nothing."""
    backend = create_chain(settings, diag)
    try:
        prepared = backend.prepare(request)
    finally:
        asyncio.run(backend.aclose())
    diag.detail(f"{prepared.method} {prepared.url}")
    for name, value in prepared.headers_redacted.items():
        diag.detail(f"  {name}: {value}")
    write_stdout(json_document(prepared.body))
    return OK


def create_chain(
    settings: Settings,
    diag: Diagnostics,
    *,
    on_event: Any = None,
    transport: Callable[[str], Any] | None = None,
) -> Any:
    """The primary backend, wrapped in a fallback chain when `--fallback` names others.
    `on_event` replaces the stderr event sink; `transport(backend_name)` gives each HTTP backend
    its transport (`batch run`: many small pools), or None for httpx's default."""
    from protoshift import cloud

    sink = on_event or event_sink(diag)
    specs = [BackendSpec(settings.backend, None), *settings.fallbacks]
    backends: list[tuple[Any, str | None]] = []
    for position, spec in enumerate(specs):
        options: dict[str, Any] = {
            "timeout": settings.timeout,
            "max_retries": settings.max_retries,
            "breaker": settings.breaker,
            "on_event": sink,
            "allow_insecure": settings.allow_insecure,
        }
        if spec.name in ("anthropic", "mock"):  # the backends that translate to Anthropic bodies
            options["models"] = settings.model_table()
        if spec.name != "mock":
            options["api_key"] = settings.api_key_for(spec.name)
            options["base_url"] = settings.base_url_for(spec.name, primary=position == 0)
            if transport is not None:
                options["transport"] = transport(spec.name)
        # When one fails to build (no key, a key over http://), those built before it are dropped as
        # they are: their clients never opened a connection, so there is nothing to close. (They
        # used to be closed with asyncio.run, which fails inside the running loop `chat` calls this in.)
        backends.append((cloud.create_backend(spec.name, **options), spec.model))
    if len(backends) == 1:
        return backends[0][0]
    return cloud.FallbackBackend(backends, on_event=sink)


def event_sink(diag: Diagnostics) -> Any:
    def on_event(event: Any) -> None:
        if event.kind in ("request", "response"):
            diag.detail(event.message)
        elif event.kind == "note":
            diag.warn(f"note: {event.message}")
        else:
            diag.warn(event.message)

    return on_event


async def _answer(request: dict[str, Any], fmt: str, settings: Settings, diag: Diagnostics) -> int:
    backend = create_chain(settings, diag)
    renderer = make_renderer(fmt, diag, tty=stdout_is_terminal())
    started = time.monotonic()
    try:
        if request.get("stream"):
            # aclosing: a reader gone (`| head`) or Ctrl-C closes the stream here, before the client
            async with contextlib.aclosing(backend.stream(request)) as chunks:
                async for chunk in chunks:
                    renderer.chunk(chunk)
        else:
            renderer.completion(await backend.complete(request))
    except BaseException:
        renderer.abort()
        raise
    finally:
        await backend.aclose()
    renderer.finish(elapsed=time.monotonic() - started)
    return OK


def map_failure(exc: BaseException) -> CLIError | None:
    """Expected failures from cloud/ and translator/ -> a CLIError with the right exit code."""
    if isinstance(exc, TranslationError):
        return InputError(str(exc))
    from protoshift.cloud import CloudError

    if isinstance(exc, CloudError):
        return CLIError(str(exc), exc.exit_code)
    return None
