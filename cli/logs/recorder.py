"""What `chat` writes to the log: one conversation per run (a new one, or the one `-c`/`--cid`
continues), one row per exchange. The log never fails a chat: when it cannot be written (a full
disk, a locked or broken file), one warning says so and the chat goes on without it."""

from __future__ import annotations

import asyncio
import secrets
import sqlite3
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from protoshift.cli.exits import INTERRUPTED, OK, PROVIDER_FAILED, InputError, map_failure
from protoshift.cli.logs.store import LogStore, Row, dumps, log_path, storable
from protoshift.cloud.backend import Call
from protoshift.cloud.kinds import BACKENDS
from protoshift.translator.accumulate import ChunkAccumulator

if TYPE_CHECKING:
    from protoshift.cli.chat.request import ChatOptions
    from protoshift.cli.io.console import Diagnostics
    from protoshift.cli.settings import Settings
    from protoshift.cloud.pricing import PriceTable

PROGRESS_EVERY = 0.25  # seconds between writes of a streaming reply's text: what a kill -9 leaves behind
SYSTEM_ROLES = ("system", "developer")
# Request keys that belong to one call, not to the conversation continued later.
CALL_KEYS = ("messages", "stream", "stream_options")


def new_conversation_id() -> str:
    return secrets.token_hex(6)


@dataclass
class History:
    """A logged conversation, as a continuation starts from it."""

    conversation: str
    prior: int | None = None  # the row the next exchange continues
    messages: list[dict[str, Any]] = field(default_factory=list)
    fields: dict[str, Any] = field(default_factory=dict)  # the last request's other fields (tools, options...)
    model: str | None = None  # the model the last request asked for (not the snapshot that answered)
    backend: str | None = None  # the chain's first backend the last request went to (not a fallback that answered)
    base_url: str | None = None  # ... and its base URL (None: its default)

    def keep_route(self, settings: Settings) -> None:
        """A continued conversation goes on with its backend and base URL, as it keeps its model, unless
        this command line names others (-b, --base-url; a BACKEND:MODEL alias of -m, resolved later)."""
        if self.backend is None or self.backend not in BACKENDS:
            return
        flags = settings.flags
        if not flags.backend:
            settings.backend = self.backend
        if not flags.base_url and settings.backend == self.backend:
            settings.base_url = self.base_url

    def continue_request(self, request: dict[str, Any], model_flag: str | None) -> dict[str, Any]:
        """`request` (this run's messages and flags) after the conversation so far. The conversation's
        model and fields hold unless this run sets them; a --system here replaces the conversation's."""
        new = request["messages"]
        system = [m for m in new if isinstance(m, dict) and m.get("role") in SYSTEM_ROLES]
        rest = [m for m in new if m not in system]
        old = self.messages
        if system:
            old = [m for m in old if m.get("role") not in SYSTEM_ROLES]
        kept = {k: v for k, v in self.fields.items() if k != "model"}
        merged = {**kept, **{k: v for k, v in request.items() if k != "messages"}}
        if not model_flag and self.model:
            merged["model"] = self.model
        merged["messages"] = [*system, *old, *rest]
        return merged


class ChatLog:
    """The log of one chat run. `store` None: logging is off (or failed), and nothing is written."""

    def __init__(self, store: LogStore | None, diag: Diagnostics, prices: PriceTable, history: History) -> None:
        self.store = store
        self.diag = diag
        self.prices = prices
        self.history = history

    @classmethod
    def open(cls, options: ChatOptions, settings: Settings, diag: Diagnostics) -> ChatLog:
        """The log for this run: the conversation -c/--cid names (read even with --no-log), or a new one.
        A conversation continued goes on on its backend and base URL (`settings` changed to them)."""
        history = History(new_conversation_id())
        if options.continue_latest or options.cid is not None:
            history = continued(options.cid)
            history.keep_route(settings)
        store = None
        if settings.log:
            try:
                store = LogStore()
            except (sqlite3.Error, OSError) as exc:
                diag.warn(f"the log cannot be opened ({exc}): this chat is not logged")
        return cls(store, diag, settings.prices(), history)

    @property
    def conversation(self) -> str:
        return self.history.conversation

    def restart(self) -> None:
        """A new conversation from here (the session's /clear and /load)."""
        self.history = History(new_conversation_id())

    def exchange(self, request: dict[str, Any], settings: Settings) -> Exchange:
        """A row for `request`, about to go to the settings' chain (its first backend, at its base URL)."""
        row = None
        backend = settings.backend
        base_url = settings.base_url_for(backend, primary=True) if BACKENDS[backend].key_env else None
        if self.store is not None:
            messages = request.get("messages") or []
            known = self.history.messages
            prior = self.history.prior if messages[: len(known)] == known else None
            added = messages[len(known) :] if prior is not None else messages
            fields = {k: v for k, v in request.items() if k not in CALL_KEYS}
            model = str(request.get("model") or "")
            row = self._write(lambda s: s.start(self.conversation, prior, model, backend, fields, added, base_url))
        return Exchange(self, row, request, backend, base_url)

    def _write(self, action: Any) -> Any:
        """One write to the store; a failure turns the log off for the rest of the run, with one warning."""
        if self.store is None:
            return None
        try:
            return action(self.store)
        except (sqlite3.Error, OSError, ValueError) as exc:  # ValueError: text SQLite cannot store
            self.diag.warn(f"the log cannot be written ({exc}): the rest of this chat is not logged")
            store, self.store = self.store, None
            store.close()
            return None

    def close(self) -> None:
        if self.store is not None:
            self.store.close()
            self.store = None


class Exchange:
    """One request and its reply, as the log sees it."""

    def __init__(self, log: ChatLog, row: int | None, request: dict[str, Any], backend: str,
                 base_url: str | None) -> None:  # fmt: skip
        self.log = log
        self.row = row
        self.request = request
        self.backend = backend  # the chain's first
        self.base_url = base_url
        # The call the exchange makes: after it, `call.backend` names the backend that answered.
        self.call = Call()
        self.started = time.monotonic()
        self._stream = ChunkAccumulator()
        self._text: list[str] = []
        self._flushed = self.started

    def chunk(self, chunk: dict[str, Any]) -> None:
        if self.row is None:
            return
        self._stream.add(chunk)
        for choice in chunk.get("choices") or ():
            if choice.get("index", 0) == 0 and (content := (choice.get("delta") or {}).get("content")):
                self._text.append(content)
        if self._text and time.monotonic() - self._flushed >= PROGRESS_EVERY:
            self._flushed = time.monotonic()
            text = "".join(self._text)
            self.log._write(lambda s: s.progress(self.row, text))

    def end(self, completion: dict[str, Any] | None = None, *, reply: dict[str, Any] | None = None) -> None:
        """The reply came whole: `completion` (or the chunks seen), `reply` the message kept (default:
        the completion's)."""
        completion = completion or self._stream.completion()
        choice = (completion.get("choices") or [{}])[0]
        message = reply if reply is not None else _kept(choice.get("message") or {})
        self._finish(completion, message, status="ok", partial=False, exit_code=0)

    def fail(self, exc: BaseException, *, reply: dict[str, Any] | None = None) -> None:
        """The reply was cut (Ctrl-C: `cut`, exit 130) or failed (`error`): what arrived is kept, partial."""
        cut = isinstance(exc, KeyboardInterrupt | asyncio.CancelledError | BrokenPipeError)
        mapped = None if cut else map_failure(exc) if isinstance(exc, Exception) else None
        code = mapped.code if mapped is not None else PROVIDER_FAILED
        if cut:  # Ctrl-C, or the reader gone (`| head`: a quiet end)
            code = OK if isinstance(exc, BrokenPipeError) else INTERRUPTED
        completion = self._stream.completion()
        text = "".join(self._text)
        message = reply if reply is not None else ({"role": "assistant", "content": text} if text.strip() else None)
        error = None if cut else (mapped.message if mapped is not None else f"{type(exc).__name__}: {exc}")
        self._finish(completion, message, status="cut" if cut else "error", partial=True, exit_code=code, error=error)

    def _finish(self, completion: dict[str, Any], message: dict[str, Any] | None, *, status: str, partial: bool,
                exit_code: int, error: str | None = None) -> None:  # fmt: skip
        if self.row is None:
            return
        usage = completion.get("usage") or {}
        model = str(completion.get("model") or self.request.get("model") or "")
        details = usage.get("prompt_tokens_details") or {}
        fields = {
            "model": storable(model),
            "backend": self.call.backend or self.backend,  # a fallback's, when it answered
            "reply": None if message is None else dumps(message),
            "response": storable(_text_of(message)),
            "partial": int(partial),
            "status": status,
            "finish_reason": ((completion.get("choices") or [{}])[0]).get("finish_reason"),
            "prompt_tokens": usage.get("prompt_tokens"),
            "completion_tokens": usage.get("completion_tokens"),
            "cached_tokens": details.get("cached_tokens") if isinstance(details, dict) else None,
            "cost": self.log.prices.cost(model, usage),
            "duration": round(time.monotonic() - self.started, 3),
            "exit_code": exit_code,
            "error": None if error is None else storable(error),
        }
        self.log._write(lambda s: s.finish(self.row, fields))
        history = self.log.history
        sent = self.request.get("messages") or []
        history.prior = self.row
        history.messages = [*sent, message] if message is not None else list(sent)
        history.fields = {k: v for k, v in self.request.items() if k not in CALL_KEYS}
        history.model = str(self.request.get("model") or "") or history.model
        history.backend, history.base_url = self.backend, self.base_url


def _kept(message: dict[str, Any]) -> dict[str, Any]:
    """The assistant message as a later request sends it back (no `refusal: null`)."""
    return {k: v for k, v in message.items() if not (k == "refusal" and v is None)}


def _text_of(message: dict[str, Any] | None) -> str:
    if not message:
        return ""
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(str(p.get("text", "")) for p in content if isinstance(p, dict) and p.get("type") == "text")
    return ""


# -- continuing a conversation ------------------------------------------------------------------------


def continued(cid: str | None) -> History:
    """The conversation `--cid` names (an id or a unique prefix), or the latest one (`-c`)."""
    path = log_path()
    if not path.exists():
        raise InputError("no conversation to continue: the log is empty", hint=f"chat once first (the log is {path})")
    store = LogStore(path, create=False)
    try:
        conversation = find_conversation(store, cid)
        rows = store.conversation(conversation)
        base = next((row for row in reversed(rows) if row.reply_message is not None), None)
        return _history(store, conversation, base)
    finally:
        store.close()


def find_conversation(store: LogStore, cid: str | None) -> str:
    """The conversation `cid` names (an id, or the start of one that no other shares); None: the latest."""
    if cid is None:
        latest = store.latest_conversation()
        if latest is None:
            raise InputError("no conversation to continue: the log is empty")
        return latest
    found = store.conversations_starting(cid) if cid else []
    if not found:
        raise InputError(f"--cid {cid!r}: no such conversation in the log", hint="protoshift logs lists them")
    if len(found) > 1 and cid not in found:
        raise InputError(f"--cid {cid!r}: several conversations start so ({', '.join(found[:2])}, ...)")
    return cid if cid in found else found[0]


def _history(store: LogStore, conversation: str, base: Row | None) -> History:
    if base is None:
        return History(conversation)
    fields = dict(base.request)
    asked = fields.get("model")
    model = asked if isinstance(asked, str) else base.model
    # a row written before the log kept the chain's first backend: the one that answered is the best guess
    backend = base.primary_backend or base.backend
    return History(conversation, base.id, store.history(base), fields, model, backend, base.base_url)
