"""Rendering answers: JSON, SSE and JSONL for programs; text (markdown on a terminal) for people."""

from __future__ import annotations

import json
import sys
from typing import Any, Protocol

from protoshift.cli.io.console import Diagnostics, no_color
from protoshift.cli.io.output import json_document, json_line, write_stdout
from protoshift.translator.accumulate import ChunkAccumulator
from protoshift.translator.sse import encode_chunk, encode_done


class Renderer(Protocol):
    def chunk(self, chunk: dict[str, Any]) -> None: ...
    def completion(self, completion: dict[str, Any]) -> None: ...
    def abort(self) -> None: ...
    def finish(self, *, elapsed: float) -> None: ...


def make_renderer(fmt: str, diag: Diagnostics, *, tty: bool) -> Renderer:
    if fmt == "json":
        return JSONRenderer()
    if fmt == "sse":
        return SSERenderer()
    if fmt == "jsonl":
        return JSONLRenderer()
    return TextRenderer(diag, tty=tty)


class JSONRenderer:
    """One chat.completion document; a stream is added up into one."""

    def __init__(self) -> None:
        self._stream = ChunkAccumulator()
        self._completion: dict[str, Any] | None = None

    def chunk(self, chunk: dict[str, Any]) -> None:
        self._stream.add(chunk)

    def completion(self, completion: dict[str, Any]) -> None:
        self._completion = completion

    def abort(self) -> None:
        pass  # a half answer is not a chat.completion: nothing on stdout, the error says why

    def finish(self, *, elapsed: float) -> None:
        write_stdout(json_document(self._completion or self._stream.completion()))


class SSERenderer:
    """Exactly what OpenAI's API sends, flushed per chunk."""

    def chunk(self, chunk: dict[str, Any]) -> None:
        write_stdout(encode_chunk(chunk), flush=True)

    def completion(self, completion: dict[str, Any]) -> None:  # pragma: no cover - sse always streams
        raise AssertionError("the sse format always streams")

    def abort(self) -> None:
        sys.stdout.flush()  # what was sent stays sent; no [DONE]: the stream did not end

    def finish(self, *, elapsed: float) -> None:
        write_stdout(encode_done(), flush=True)


class JSONLRenderer:
    """One chunk per line, flushed per chunk."""

    def chunk(self, chunk: dict[str, Any]) -> None:
        write_stdout(json_line(chunk), flush=True)

    def completion(self, completion: dict[str, Any]) -> None:  # pragma: no cover - jsonl always streams
        raise AssertionError("the jsonl format always streams")

    def abort(self) -> None:
        sys.stdout.flush()

    def finish(self, *, elapsed: float) -> None:
        sys.stdout.flush()


class TextRenderer:
    """The answer's text on stdout as it arrives; reasoning dimmed and usage on stderr for a person."""

    def __init__(self, diag: Diagnostics, *, tty: bool) -> None:
        self._diag = diag
        self._tty = tty
        self._stream = ChunkAccumulator()
        self._completion: dict[str, Any] | None = None
        self._ends_with_newline = True
        self._in_reasoning = False

    def chunk(self, chunk: dict[str, Any]) -> None:
        self._stream.add(chunk)
        for choice in chunk.get("choices") or ():
            delta = choice.get("delta") or {}
            if reasoning := delta.get("reasoning_content"):
                self._reasoning(reasoning)
            if content := delta.get("content"):
                self._end_reasoning()
                write_stdout(content.encode(), flush=True)
                self._ends_with_newline = content.endswith("\n")

    def completion(self, completion: dict[str, Any]) -> None:
        self._completion = completion
        message = completion["choices"][0]["message"] if completion.get("choices") else {}
        if message.get("reasoning_content"):
            self._reasoning(message["reasoning_content"])
            self._end_reasoning()
        content = message.get("content") or ""
        if self._tty and content:
            from rich.console import Console
            from rich.markdown import Markdown

            Console(no_color=no_color()).print(Markdown(content))
        elif content:
            write_stdout(content.encode())
            self._ends_with_newline = content.endswith("\n")

    def abort(self) -> None:
        self._end_reasoning()
        if not self._ends_with_newline:
            write_stdout(b"\n", flush=True)
            self._ends_with_newline = True

    def finish(self, *, elapsed: float) -> None:
        self._end_reasoning()
        completion = self._completion or self._stream.completion()
        choice = completion["choices"][0] if completion.get("choices") else {}
        for call in (choice.get("message") or {}).get("tool_calls") or ():
            function = call.get("function") or {}
            self._line(
                f"tool call {call.get('id', '')}: {function.get('name')}({compact_arguments(function.get('arguments'))})"
            )
        if not self._ends_with_newline:
            write_stdout(b"\n", flush=True)
            self._ends_with_newline = True
        if self._tty:
            usage = completion.get("usage") or {}
            parts = [completion.get("model") or "?"]
            if usage:
                parts.append(f"{usage.get('prompt_tokens', 0)} in / {usage.get('completion_tokens', 0)} out")
            parts.append(f"{elapsed:.1f}s")
            if choice.get("finish_reason") not in (None, "stop", "tool_calls"):
                parts.append(f"finish: {choice['finish_reason']}")
            self._dim(" · ".join(parts))

    def _line(self, text: str) -> None:
        if not self._ends_with_newline:
            write_stdout(b"\n")
        write_stdout(text.encode() + b"\n", flush=True)
        self._ends_with_newline = True

    def _reasoning(self, text: str) -> None:
        """Reasoning is not the answer: stderr, dimmed on a terminal, so `> file` keeps the answer only."""
        if self._diag.quiet:
            return
        stream = self._diag.stream
        if not self._in_reasoning:
            self._in_reasoning = True
            if self._tty and not no_color():
                stream.write("\x1b[2m")
        stream.write(text)
        stream.flush()

    def _end_reasoning(self) -> None:
        if self._in_reasoning:
            self._in_reasoning = False
            stream = self._diag.stream
            stream.write("\x1b[0m\n" if self._tty and not no_color() else "\n")
            stream.flush()

    def _dim(self, text: str) -> None:
        stream = self._diag.stream
        if not no_color():
            text = f"\x1b[2m{text}\x1b[0m"
        stream.write(text + "\n")
        stream.flush()


def compact_arguments(arguments: Any) -> str:
    """Tool-call arguments on one line, for people."""
    if not isinstance(arguments, str):
        return ""
    try:
        return json.dumps(json.loads(arguments), ensure_ascii=False, separators=(",", ":"))
    except (ValueError, RecursionError):  # not JSON, or nested past what Python parses: shown as sent
        return arguments
