"""`protoshift chat`: one OpenAI request in, one answer out, through a backend chain. On a
terminal with nothing to send (or with -i), the interactive session (chat.session) instead.

Every exchange goes to the log (cli.logs), unless --no-log or `log = false`: `-c`/`--cid` continue a
logged conversation, here or in a session."""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from protoshift.cli.chain import create_chain
from protoshift.cli.chat.render import make_renderer
from protoshift.cli.chat.request import FORMATS, ChatOptions, build_request, resolve_alias
from protoshift.cli.exits import OK, InputError
from protoshift.cli.io.console import Diagnostics, stdin_is_terminal, stdout_is_terminal
from protoshift.cli.io.output import json_document, write_stdout
from protoshift.cli.settings import Settings
from protoshift.cloud.errors import InsecureTransportError

if TYPE_CHECKING:
    from protoshift.cli.logs.recorder import ChatLog


def run_chat(options: ChatOptions, settings: Settings, diag: Diagnostics) -> int:
    if options.format not in FORMATS:
        raise InputError(f"--format {options.format!r}: use one of {', '.join(FORMATS)}")
    settings.log = settings.log and options.log  # the flags win over `log` / `markdown` in the config
    settings.markdown = settings.markdown and not options.raw
    wants_session = options.interactive or (
        options.input is None and options.prompt is None and not options.attachments and stdin_is_terminal()
    )
    if wants_session:
        from protoshift.cli.chat.session import run_interactive

        return run_interactive(options, settings, diag)
    request = build_request(options, settings, diag=diag)
    if options.dry_run:
        if options.continues:
            request = _log(options, settings, diag, dry_run=True).history.continue_request(request, options.model)
        resolve_alias(request, settings)
        return _dry_run(request, settings, diag)
    fmt = resolve_format(options.format, streaming=bool(request.get("stream")))
    if fmt in ("sse", "jsonl"):
        request["stream"] = True
    elif fmt == "text" and request.get("stream") and "stream_options" not in request:
        request["stream_options"] = {"include_usage": True}  # the footer's token counts
    log = _log(options, settings, diag)
    try:
        if options.continues:
            request = log.history.continue_request(request, options.model)
        resolve_alias(request, settings)
        return asyncio.run(_answer(request, fmt, settings, diag, log))
    finally:
        log.close()


def _log(options: ChatOptions, settings: Settings, diag: Diagnostics, *, dry_run: bool = False) -> ChatLog:
    from protoshift.cli.logs.recorder import ChatLog

    if dry_run:
        settings.log = False  # a dry run sends nothing: there is no exchange to log
    return ChatLog.open(options, settings, diag)


def resolve_format(fmt: str, *, streaming: bool) -> str:
    """`auto`: text for a person at a terminal; JSON (or SSE when streaming) for a pipe."""
    if fmt != "auto":
        return fmt
    if stdout_is_terminal():
        return "text"
    return "sse" if streaming else "json"


def _dry_run(request: dict[str, Any], settings: Settings, diag: Diagnostics) -> int:
    """Print the upstream body that would be sent (headers, key redacted, with -v); send nothing.
    A key that may not travel over http:// is no reason to refuse: nothing travels (a note says
    that the real run would be refused)."""
    try:
        backend = create_chain(settings, diag)
    except InsecureTransportError as exc:
        diag.warn(f"note: {exc}; the real run would be refused (--allow-insecure sends it anyway)")
        backend = create_chain(replace(settings, allow_insecure=True), diag)
    try:
        prepared = backend.prepare(request)
    finally:
        asyncio.run(backend.aclose())
    diag.detail(f"{prepared.method} {prepared.url}")
    for name, value in prepared.headers_redacted.items():
        diag.detail(f"  {name}: {value}")
    write_stdout(json_document(prepared.body))
    return OK


async def _answer(request: dict[str, Any], fmt: str, settings: Settings, diag: Diagnostics, log: ChatLog) -> int:
    backend = create_chain(settings, diag)
    tty = stdout_is_terminal()
    renderer = make_renderer(fmt, diag, tty=tty, markdown=settings.markdown, prices=log.prices)
    exchange = log.exchange(request, settings)
    started = time.monotonic()
    try:
        if request.get("stream"):
            # aclosing: a reader gone (`| head`) or Ctrl-C closes the stream here, before the client
            async with contextlib.aclosing(backend.stream(request, exchange.call)) as chunks:
                async for chunk in chunks:
                    renderer.chunk(chunk)
                    exchange.chunk(chunk)
            exchange.end()
        else:
            completion = await backend.create(request, exchange.call)
            renderer.completion(completion)
            exchange.end(completion)
    except BaseException as exc:
        exchange.fail(exc)
        renderer.abort()
        raise
    finally:
        await backend.aclose()
    renderer.finish(elapsed=time.monotonic() - started)
    return OK
