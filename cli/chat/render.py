"""Rendering answers: JSON, SSE and JSONL for programs; text (markdown on a terminal) for people."""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Any, Protocol

from protoshift.cli.io.console import Diagnostics, no_color
from protoshift.cli.io.output import json_document, json_line, write_stdout
from protoshift.translator.accumulate import ChunkAccumulator
from protoshift.translator.sse import encode_chunk, encode_done

if TYPE_CHECKING:
    from protoshift.cloud.pricing import PriceTable

# Why an answer ended, said in one line when it was not done (exit 0 all the same: the answer is what
# the provider gave). stop and tool_calls are an answer's normal ends.
NORMAL_ENDS = (None, "stop", "tool_calls", "function_call")
ENDINGS = {
    "length": "the answer was cut at its token limit (finish_reason: length); --max-tokens N allows more",
    "content_filter": "the model refused, or its answer was filtered (finish_reason: content_filter)",
}


def ending_note(finish_reason: Any) -> str | None:
    """The line that says why an answer ended early; None when it ended as answers do."""
    if finish_reason in NORMAL_ENDS:
        return None
    return ENDINGS.get(str(finish_reason), f"the answer ended early (finish_reason: {finish_reason})")


def footer(completion: dict[str, Any], elapsed: float, *, cost: float | None = None, model: str = "?",
           note: str | None = None) -> str:  # fmt: skip
    """The dim line under an answer: model · tokens in / out (cached) · cost · time [· note]."""
    from protoshift.cli.pricing import format_cost

    usage = completion.get("usage") or {}
    parts = [str(completion.get("model") or model)]
    if usage:
        tokens = f"{usage.get('prompt_tokens', 0)} in / {usage.get('completion_tokens', 0)} out"
        details = usage.get("prompt_tokens_details")
        if isinstance(details, dict) and details.get("cached_tokens"):
            tokens += f" ({details['cached_tokens']} cached)"
        parts.append(tokens)
    if cost is not None:
        parts.append(format_cost(cost))
    parts.append(f"{elapsed:.1f}s")
    if note:
        parts.append(note)
    return " · ".join(parts)


class Renderer(Protocol):
    def chunk(self, chunk: dict[str, Any]) -> None: ...
    def completion(self, completion: dict[str, Any]) -> None: ...
    def abort(self) -> None: ...
    def finish(self, *, elapsed: float) -> None: ...


def make_renderer(
    fmt: str, diag: Diagnostics, *, tty: bool, markdown: bool = True, prices: PriceTable | None = None
) -> Renderer:
    if fmt == "json":
        return JSONRenderer()
    if fmt == "sse":
        return SSERenderer()
    if fmt == "jsonl":
        return JSONLRenderer()
    return TextRenderer(diag, tty=tty, markdown=markdown, prices=prices)


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
    """The answer's text on stdout as it arrives; reasoning dimmed and usage on stderr for a person.
    A whole answer on a terminal is rendered as markdown, unless `markdown` is off (--raw)."""

    def __init__(
        self, diag: Diagnostics, *, tty: bool, markdown: bool = True, prices: PriceTable | None = None
    ) -> None:
        self._diag = diag
        self._tty = tty
        self._markdown = markdown
        self._prices = prices
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
            for text in (delta.get("content"), delta.get("refusal")):  # a refusal is the answer too
                if text:
                    self._end_reasoning()
                    write_stdout(text.encode(), flush=True)
                    self._ends_with_newline = text.endswith("\n")

    def completion(self, completion: dict[str, Any]) -> None:
        self._completion = completion
        message = completion["choices"][0]["message"] if completion.get("choices") else {}
        if message.get("reasoning_content"):
            self._reasoning(message["reasoning_content"])
            self._end_reasoning()
        content = message.get("content") or message.get("refusal") or ""
        if self._tty and content and self._markdown:
            from rich.console import Console

            from protoshift.cli.chat.markdown import Markdown

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
            model = completion.get("model")
            cost = self._prices.cost(model, completion.get("usage")) if self._prices is not None else None
            self._dim(footer(completion, elapsed, cost=cost))
        if (note := ending_note(choice.get("finish_reason"))) is not None:
            self._diag.warn(note)

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
