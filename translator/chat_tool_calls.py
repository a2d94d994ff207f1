"""Chat chunks' tool calls reassembled: the part both chat streams (chat_to_responses.Stream,
openai_to_anthropic.Stream) share, each making its own events of it.

What a server's `delta.tool_calls` entries mean, however they come:
- a call is told by its `index`, else its `id`, else it is the last one; a new id at a used index is a
  new call (a server that numbers every call 0); a call with no id gets one from the stream;
- a call starts when its function name is known (some servers send it after the first fragment): what
  came before waits in `pending`; a server sending the arguments as an object gets them as JSON text;
- one call is open at a time: a server interleaving calls' fragments gets the open call streamed live and
  the rest held (`_held`) until the open one's arguments are a whole JSON value, then it is done and the
  held ones follow (`_replay`), or the answer ends (`_flush_held`: one item per destination);
- after a whole JSON value nothing can follow: a server repeating the arguments whole is not heard twice
  (the check stands in each stream's `_emit`, on its hot path, with `_is_complete`).

`ToolCallStream` is a base class, not a helper object, so that the streams' hot paths (a fragment for the
open call) pay no extra call: its subclass gives `_put`, `_start`, `_emit` and `_close` for its own events.
"""

from __future__ import annotations

import functools
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from protoshift.translator.wire import ChatChunk

__all__ = ["CALL", "ChatCall", "ToolCallStream"]

# The kind of piece a call's arguments are; each stream numbers its other kinds (text, reasoning...) apart.
CALL = 4


@functools.cache
def _json() -> tuple[Callable[..., Any], Callable[..., bytes]]:
    """pydantic-core's JSON, imported on first use (start-up time)."""
    from pydantic_core import from_json, to_json

    return from_json, to_json


class ChatCall:
    """One chat tool call (one `index`); a stream's subclass adds what its item or block needs."""

    __slots__ = ("args", "complete", "id", "name", "pending", "queued", "started")

    def __init__(self, chat_id: str) -> None:
        self.id = chat_id
        self.name = ""
        self.args: list[str] = []  # the argument fragments given out
        self.pending: list[str] = []  # fragments that came before the name
        self.queued = False  # its name is known: it goes to the stream's item/block machinery
        self.started = False  # its item/block was started
        self.complete = False  # its arguments are a whole JSON value


C = TypeVar("C", bound=ChatCall)
Out = list[dict[str, Any]]


class ToolCallStream(ABC, Generic[C]):
    """The calls of a chat stream and what is held while one is open; `_call_type` makes a call."""

    __slots__ = ("_by_id", "_calls", "_held", "_open_call")
    _call_type: Callable[[str], C]

    def __init__(self) -> None:
        self._calls: dict[int, C] = {}  # by chat index
        self._by_id: dict[str, C] = {}
        self._held: list[tuple[int, C | None, str]] = []  # (kind, call, text) waiting for the open call
        self._open_call: C | None = None

    # ---- what the stream gives: its subclass makes its own events -----------------------------

    @abstractmethod
    def _put(self, kind: int, call: C | None, text: str, out: Out) -> None: ...

    @abstractmethod
    def _start(self, kind: int, call: C | None, out: Out) -> None: ...

    @abstractmethod
    def _emit(self, kind: int, call: C | None, text: str, out: Out) -> None: ...

    @abstractmethod
    def _close(self, out: Out) -> None: ...

    # ---- the calls --------------------------------------------------------------------------------

    def _tool_call(self, entry: ChatChunk, out: Out) -> None:
        """One `delta.tool_calls` entry."""
        call = self._call_for(entry.get("index"), entry.get("id"))
        function = entry.get("function")
        function = function if isinstance(function, dict) else {}
        arguments = function.get("arguments")
        if isinstance(arguments, dict):  # a server that sends the object itself
            arguments = _json()[1](arguments).decode()
        fragment = arguments if isinstance(arguments, str) else ""
        name = function.get("name")
        if not call.name and isinstance(name, str) and name:
            call.name = name
        if call.queued:
            if not fragment:
                pass
            elif self._held:  # straight to _put_held (not through _put): a call less, fragment by fragment
                self._put_held(CALL, call, fragment, out)
            else:
                self._put(CALL, call, fragment, out)
        elif call.name:  # its name is known now: it can start, with what came before
            call.queued = True
            self._put(CALL, call, "".join(call.pending) + fragment, out)
            call.pending = []
        elif fragment:
            call.pending.append(fragment)

    def _call_for(self, index: Any, chat_id: Any) -> C:
        chat_id = chat_id if isinstance(chat_id, str) else ""
        if type(index) is not int:  # no index (a bool is none): the id tells the call, else the last one
            if chat_id in self._by_id:
                return self._by_id[chat_id]
            if not chat_id and self._calls:
                return self._calls[max(self._calls)]
            index = max(self._calls, default=-1) + 1
        call = self._calls.get(index)
        if call is not None and (not chat_id or not call.id or call.id == chat_id):
            if chat_id and not call.id:
                call.id = chat_id
                self._by_id[chat_id] = call
            return call
        if call is not None:  # a new id at a used index: a server that numbers every call 0
            index = max(self._calls) + 1
        call = self._call_type(chat_id)
        self._calls[index] = call
        if chat_id:
            self._by_id[chat_id] = call
        return call

    def _is_complete(self, call: C | None) -> bool:
        """Whether `call`'s arguments so far are a whole JSON value (no call: nothing to wait for)."""
        if call is None or call.complete:
            return True
        if not call.args:
            return False
        try:
            _json()[0]("".join(call.args))
        except ValueError:
            return False
        call.complete = True
        return True

    # ---- holding ----------------------------------------------------------------------------------

    def _put_held(self, kind: int, call: C | None, text: str, out: Out) -> None:
        """`_put` while something is held: the open call's fragment goes out (and once its arguments are
        whole, it is done and what was held follows); anything else waits its turn."""
        if kind == CALL and call is self._open_call:
            self._emit(kind, call, text, out)
            if self._is_complete(call):
                self._close(out)
                self._replay(out)
        else:
            self._held.append((kind, call, text))

    def _replay(self, out: Out) -> None:
        held, self._held = self._held, []
        for kind, call, text in held:
            self._put(kind, call, text, out)

    def _flush_held(self, out: Out) -> None:
        """The answer is complete (the open item closed): what was held goes out, one item per destination
        in the order each first came, then the calls whose name never came (the client sees a call to "")."""
        groups: dict[tuple[int, int], tuple[int, C | None, list[str]]] = {}
        for kind, call, text in self._held:
            if call is not None and call.started:
                continue
            groups.setdefault((kind, id(call)), (kind, call, []))[2].append(text)
        self._held = []
        for kind, call, texts in groups.values():
            self._start(kind, call, out)
            self._emit(kind, call, "".join(texts), out)
            self._close(out)
        for index in sorted(self._calls):
            unnamed = self._calls[index]
            if not unnamed.queued:
                self._start(CALL, unnamed, out)
                self._emit(CALL, unnamed, "".join(unnamed.pending), out)
                self._close(out)
