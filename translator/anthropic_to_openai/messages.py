"""Anthropic `system` + `messages` -> OpenAI `messages` (the other direction).

One method per role and per block kind. What OpenAI's shape needs and Anthropic's does not give:
- `system` (a string or text blocks) becomes the first message, a `system` one;
- a user turn's `tool_result` blocks become `tool` messages, in order, before the rest of that turn
  (which follows as a user message); images in a result move to that user message (OpenAI tool
  messages take text only), with a note; `is_error` has no OpenAI flag: the content is kept, with a note;
- an assistant turn's text blocks become its `content` (joined as they are), its `tool_use` blocks
  its `tool_calls` (the input as JSON text), its thinking `reasoning_content` (the DeepSeek/vLLM
  convention; the signature has nowhere to go, a note says so), or, for thinking that came from
  OpenRouter's `reasoning_details` (carried in its signature), those as they came; redacted thinking is
  dropped with a note;
- a block's `cache_control` and `citations` are dropped with a note.

Every key of every message and block is read or noted; a message or block that cannot be translated
adds its problems to the context and the rest goes on, so one run reports them all.
"""

from __future__ import annotations

from typing import Any

from protoshift.translator import reasoning_details
from protoshift.translator.anthropic_to_openai.completion import tool_arguments
from protoshift.translator.checks import want_bool, want_list, want_object, want_str
from protoshift.translator.errors import TranslationError
from protoshift.translator.openai_to_anthropic.context import Context
from protoshift.translator.tables import (
    ANTHROPIC_BLOCK_KEYS,
    ANTHROPIC_MESSAGE_KEYS,
    ANTHROPIC_SOURCE_KEYS,
    BILLING_HEADER,
    DEFAULT_PDF_FILENAME,
    IMAGE_MEDIA_TYPES,
    SERVER_TOOL_BLOCKS,
)

Part = dict[str, Any]
Message = dict[str, Any]

_CACHE_DROPPED = "OpenAI-compatible servers cache prompt prefixes on their own, without breakpoints"
_CITATIONS_DROPPED = "OpenAI has no citations on request content"
_SERVER_BLOCK = "an OpenAI-compatible model has no blocks of Anthropic's server tools"


class MessageConverter:
    """Converts one request's system prompt and messages; holds what spans turns (tool-call pairing)."""

    def __init__(self, ctx: Context, *, keep_billing_header: bool = False) -> None:
        self.ctx = ctx
        self.keep_billing_header = keep_billing_header
        self.out: list[Message] = []
        # Calls of the last assistant turn still waiting for a result: id -> the call's path.
        self._open_calls: dict[str, str] = {}
        self._last_assistant = -1  # index of the last assistant message read (the prefill note)
        self._reminders: list[Message] = []  # system reminders that came after an assistant turn
        self._carried: list[dict[str, Any]] = []  # the assistant turn's OpenRouter reasoning_details

    # ---- entry point -------------------------------------------------------------------------

    def convert(self, system: Any, messages: list[Any]) -> list[Message]:
        if system is not None:
            try:
                self._system(system, "system")
            except TranslationError as exc:
                self.ctx.failed(exc)
        out = self.out
        for i, message in enumerate(messages):
            # Most turns of a long conversation are {"role": ..., "content": "some text"}: this short path.
            if type(message) is dict and len(message) == 2:
                role, content = message.get("role"), message.get("content")
                if type(content) is str and (role == "assistant" or (role == "user" and not self._open_calls)):
                    if role == "assistant":
                        self._unanswered()
                        self._last_assistant = i
                    out.append({"role": role, "content": content})
                    continue
            try:
                self._message(message, f"messages[{i}]", i)
            except TranslationError as exc:
                self.ctx.failed(exc)
        self._unanswered()
        if self._reminders:
            self._place_reminders()
        if out and out[-1]["role"] == "assistant" and self._last_assistant >= 0:
            self.ctx.note(
                f"messages[{self._last_assistant}]",
                "approximated",
                "a final assistant message is a prefill for Anthropic; an OpenAI-compatible model answers after it"
                " instead of continuing it",
            )
        return out

    def _message(self, message: Any, path: str, i: int) -> None:
        msg = message if type(message) is dict else want_object(message, path)
        role = msg.get("role")
        if len(msg) != 2 and not ANTHROPIC_MESSAGE_KEYS.issuperset(msg):
            if msg.get("output_config") is not None:  # Claude Code's per-turn effort (per-turn-control beta)
                self.ctx.note(f"{path}.output_config", "dropped", "OpenAI sets the reasoning effort per request only")
            self.ctx.unknown_keys(msg, ANTHROPIC_MESSAGE_KEYS | {"output_config"}, path)
        content = msg.get("content")
        if content is None:
            raise TranslationError(f"{path}.content", "is required")
        if role == "user":
            self._user(content, f"{path}.content")
        elif role == "assistant":
            self._unanswered()
            self._last_assistant = i
            self._assistant(content, f"{path}.content", path)
        elif role == "system":
            self._system_in_the_middle(content, f"{path}.content")
        elif role is None:
            raise TranslationError(f"{path}.role", "is required")
        else:
            raise TranslationError(f"{path}.role", f"unknown role {role!r} (expected user or assistant)")

    # ---- roles -------------------------------------------------------------------------------

    def _system(self, content: Any, path: str) -> None:
        parts = self._system_parts(content, path)
        if parts:
            self.out.append({"role": "system", "content": _content(parts)})

    def _system_parts(self, content: Any, path: str) -> list[Part]:
        if isinstance(content, str):
            return [{"type": "text", "text": content}] if content else []
        parts: list[Part] = []
        for j, item in enumerate(want_list(content, path)):
            bpath = f"{path}[{j}]"
            try:
                block = want_object(item, bpath)
                if block.get("type") != "text":
                    raise TranslationError(f"{bpath}.type", f"system content must be text, got {block.get('type')!r}")
                self._known_keys(block, "text", bpath)
                part = self._text(block, bpath)
                if not self.keep_billing_header and str(part.get("text", "")).startswith(BILLING_HEADER):
                    self.ctx.note(
                        bpath,
                        "dropped",
                        "Claude Code's billing header, whose hash changes with the prompt: sent on, it would"
                        " defeat the upstream's prefix caching",
                    )
                    continue
                parts.append(part)
            except TranslationError as exc:
                self.ctx.failed(exc)
        return parts

    def _system_in_the_middle(self, content: Any, path: str) -> None:
        """A system message after the conversation began (Claude Code's "Available agent types..."): the
        chat templates of many models (Qwen, Llama, Gemma) take one only at the start. It goes on as a
        reminder in the user's turn, never dropped; where it stands for a model that takes one anywhere
        (the table's `system = "anywhere"`: OpenAI's)."""
        facts = self.ctx.facts
        if (facts is not None and facts.system == "anywhere") or all(m["role"] == "system" for m in self.out):
            self._system(content, path)
            return
        parts = self._system_parts(content, path)
        text = "\n\n".join(str(part.get("text", "")) for part in parts)
        if not text:
            return
        reminder: Part = {"type": "text", "text": f"<system-reminder>\n{text}\n</system-reminder>"}
        last = self.out[-1]
        if last["role"] == "user":
            content_now = last["content"]
            before = [{"type": "text", "text": content_now}] if isinstance(content_now, str) else list(content_now)
            last["content"] = _content([*before, reminder])
        else:  # after the assistant: it goes first in the user turn that answers it (see _place_reminders)
            placeholder: Message = {"role": "user", "content": [reminder]}
            self._reminders.append(placeholder)
            self.out.append(placeholder)
        self.ctx.note(
            path.removesuffix(".content"),
            "approximated",
            "a system message in the middle of the conversation (many models' chat templates take one only at"
            " the start): sent as a <system-reminder> in the user's turn",
        )

    def _place_reminders(self) -> None:
        """Each reminder that came after an assistant turn goes first in the user message after it, past
        the tool results that answer the assistant's calls (which must follow the calls): turns keep
        alternating, as strict chat templates ask. With no user message there, it stays one of its own."""
        out = self.out
        for placeholder in self._reminders:
            at = next(k for k, message in enumerate(out) if message is placeholder)
            after = at + 1
            while after < len(out) and out[after]["role"] == "tool":
                after += 1
            del out[at]
            after -= 1
            following = out[after] if after < len(out) else None
            if (
                following is not None
                and following["role"] == "user"
                and all(following is not r for r in self._reminders)
            ):
                now = following["content"]
                parts = [{"type": "text", "text": now}] if isinstance(now, str) else list(now)
                following["content"] = _content([*placeholder["content"], *parts])
            else:
                out.insert(after, {"role": "user", "content": _content(placeholder["content"])})

    def _user(self, content: Any, path: str) -> None:
        if isinstance(content, str):
            self._answered_by(set(), path)
            self.out.append({"role": "user", "content": content})
            return
        tool_messages: list[Message] = []
        moved: list[Part] = []  # images from tool results, sent in the user message after the tool messages
        parts: list[Part] = []
        answered: set[str] = set()
        problems = len(self.ctx.problems)
        for j, item in enumerate(content if type(content) is list else want_list(content, path)):
            if type(item) is dict and self._plain_user_block(item, parts, tool_messages, answered):
                continue
            bpath = f"{path}[{j}]"
            try:
                block = item if type(item) is dict else want_object(item, bpath)
                if block.get("type") == "tool_result":
                    tool_messages.append(self._tool_result(block, bpath, moved, answered))
                else:
                    parts.extend(self._user_block(block, bpath))
            except TranslationError as exc:
                self.ctx.failed(exc)
        self._answered_by(answered, path)
        self.out.extend(tool_messages)
        if moved or parts:
            self.out.append({"role": "user", "content": _content([*moved, *parts])})
        elif not tool_messages and len(self.ctx.problems) == problems:
            self.ctx.note(path, "dropped", "an empty user turn")

    def _plain_user_block(
        self, item: dict[str, Any], parts: list[Part], tool_messages: list[Message], answered: set[str]
    ) -> bool:
        """The short paths of a user turn: a text block, or a tool result of text with nothing else in it
        (a tool loop's); False for anything else (the full rules then read it)."""
        kind, size = item.get("type"), len(item)
        if kind == "text" and size == 2 and type(item.get("text")) is str:
            parts.append({"type": "text", "text": item["text"]})
            return True
        if kind == "tool_result" and size == 3:
            call_id, result = item.get("tool_use_id"), item.get("content")
            if type(call_id) is not str or call_id not in self._open_calls:
                return False
            if type(result) is list and all(
                type(b) is dict and len(b) == 2 and b.get("type") == "text" and type(b.get("text")) is str
                for b in result
            ):
                texts = [{"type": "text", "text": b["text"]} for b in result]
                result = _content(texts) if texts else ""
            if type(result) is str:
                answered.add(call_id)
                tool_messages.append({"role": "tool", "tool_call_id": call_id, "content": result})
                return True
        return False

    def _assistant(self, content: Any, path: str, message_path: str) -> None:
        if isinstance(content, str):
            self.out.append({"role": "assistant", "content": content})
            return
        texts: list[str] = []
        reasoning: list[str] = []
        calls: list[dict[str, Any]] = []
        call_paths: dict[str, str] = {}
        thinking_path = ""
        self._carried = []
        for j, item in enumerate(content if type(content) is list else want_list(content, path)):
            if type(item) is dict and _plain_assistant_block(item, texts, calls):
                if len(calls) > len(call_paths):
                    call_paths[calls[-1]["id"]] = f"{path}[{j}]"
                continue
            bpath = f"{path}[{j}]"
            try:
                block = item if type(item) is dict else want_object(item, bpath)
                before = len(calls)
                if self._assistant_block(block, bpath, texts, reasoning, calls) and not thinking_path:
                    thinking_path = bpath
                if len(calls) > before:
                    call_paths[calls[-1]["id"]] = bpath
            except TranslationError as exc:
                self.ctx.failed(exc)
        if thinking_path:
            self.ctx.note(
                thinking_path,
                "approximated",
                "thinking sent as the message's reasoning_content (the DeepSeek/vLLM convention); its signature is"
                " not sent",
            )
        self._assistant_message(texts, reasoning, calls, call_paths, message_path)

    def _assistant_message(
        self,
        texts: list[str],
        reasoning: list[str],
        calls: list[dict[str, Any]],
        call_paths: dict[str, str],
        message_path: str,
    ) -> None:
        if not texts and not calls and not reasoning and not self._carried:
            self.ctx.note(message_path, "dropped", "nothing in this assistant turn can be sent")
            return
        message: Message = {"role": "assistant", "content": "".join(texts) if texts or not calls else None}
        if calls:
            message["tool_calls"] = calls
            self._open_calls = call_paths
        if reasoning:
            message["reasoning_content"] = "".join(reasoning)
        if self._carried:  # given back as it came: the upstream checks its signatures and encrypted data
            message["reasoning_details"] = self._carried
        self.out.append(message)

    def _assistant_block(
        self, block: dict[str, Any], path: str, texts: list[str], reasoning: list[str], calls: list[dict[str, Any]]
    ) -> bool:
        """One block of an assistant turn into its texts, reasoning or calls; True for thinking."""
        kind = block.get("type")
        self._known_keys(block, kind, path)
        if kind == "text":
            texts.append(self._text(block, path)["text"])
        elif kind == "tool_use":
            calls.append(self._tool_use(block, path))
        elif kind == "thinking":
            thinking = want_str(block.get("thinking"), f"{path}.thinking")
            if (carried := reasoning_details.decode(block.get("signature"))) is not None:
                reasoning_details.merge(self._carried, carried)
                return False
            reasoning.append(thinking)
            return True
        elif kind == "redacted_thinking":
            self.ctx.note(path, "dropped", "redacted thinking is encrypted for Anthropic's models only")
        elif kind in SERVER_TOOL_BLOCKS:  # what Anthropic's side did in an earlier turn: said as text
            texts.append(server_block_text(block))
            self.ctx.note(path, "approximated", f"{kind}: {_SERVER_BLOCK}; sent as the text of what it did")
        else:
            raise self._unexpected(kind, path, "assistant")
        return False

    # ---- blocks ------------------------------------------------------------------------------

    def _known_keys(self, block: dict[str, Any], kind: Any, path: str) -> None:
        known = ANTHROPIC_BLOCK_KEYS.get(kind) if isinstance(kind, str) else None
        if known is not None and not known.issuperset(block):
            self.ctx.unknown_keys(block, known, path)
        if block.get("cache_control") is not None:
            self.ctx.note(f"{path}.cache_control", "dropped", _CACHE_DROPPED)

    def _unexpected(self, kind: Any, path: str, role: str) -> TranslationError:
        if kind is None:
            return TranslationError(f"{path}.type", "is required")
        if isinstance(kind, str) and kind in SERVER_TOOL_BLOCKS:
            return TranslationError(f"{path}.type", f"{kind}: {_SERVER_BLOCK}")
        if isinstance(kind, str) and kind in ANTHROPIC_BLOCK_KEYS:
            return TranslationError(f"{path}.type", f"{kind} blocks are not allowed in {role} turns")
        return TranslationError(f"{path}.type", f"content block type {kind!r} is not supported")

    def _user_block(self, block: dict[str, Any], path: str) -> list[Part]:
        kind = block.get("type")
        self._known_keys(block, kind, path)
        if kind == "text":
            return [self._text(block, path)]
        if kind == "image":
            return [self._image(block, path)]
        if kind == "document":
            return self._document(block, path)
        if kind == "search_result":
            return [self._search_result(block, path)]
        raise self._unexpected(kind, path, "user")

    def _text(self, block: dict[str, Any], path: str) -> Part:
        """A text block (its keys already checked by `_known_keys`) -> a text part."""
        text = want_str(block.get("text"), f"{path}.text")
        if len(block) > 2 and block.get("citations"):
            self.ctx.note(f"{path}.citations", "dropped", _CITATIONS_DROPPED)
        return {"type": "text", "text": text}

    def _image(self, block: dict[str, Any], path: str) -> Part:
        facts = self.ctx.facts
        if facts is not None and facts.vision is False:
            raise TranslationError(f"{path}.type", f"{self.ctx.model} does not take images")
        if block.get("transformations") is not None:
            self.ctx.note(f"{path}.transformations", "dropped", "OpenAI has no image transformations")
        source, kind = self._source(block.get("source"), f"{path}.source")
        if kind == "base64":
            media_type = want_str(source.get("media_type"), f"{path}.source.media_type")
            if media_type not in IMAGE_MEDIA_TYPES:
                allowed = ", ".join(sorted(IMAGE_MEDIA_TYPES))
                raise TranslationError(f"{path}.source.media_type", f"expected one of {allowed}, got {media_type!r}")
            data = want_str(source.get("data"), f"{path}.source.data", nonempty=True)
            return {"type": "image_url", "image_url": {"url": f"data:{media_type};base64,{data}"}}
        if kind == "url":
            return {"type": "image_url", "image_url": {"url": want_str(source.get("url"), f"{path}.source.url")}}
        if kind == "file":
            raise TranslationError(
                f"{path}.source.type", "Anthropic file ids mean nothing to an OpenAI-compatible server"
            )
        raise TranslationError(f"{path}.source.type", f'expected "base64" or "url" for an image, got {kind!r}')

    def _document(self, block: dict[str, Any], path: str) -> list[Part]:
        source, kind = self._source(block.get("source"), f"{path}.source")
        if block.get("citations") is not None:
            self.ctx.note(f"{path}.citations", "dropped", _CITATIONS_DROPPED)
        title = block.get("title")
        if title is not None:
            want_str(title, f"{path}.title")
        if kind == "base64":
            media_type = source.get("media_type")
            if media_type != "application/pdf":
                raise TranslationError(f"{path}.source.media_type", f'expected "application/pdf", got {media_type!r}')
            facts = self.ctx.facts
            if facts is not None and facts.pdf is False:
                raise TranslationError(f"{path}.type", f"{self.ctx.model} does not take PDF documents")
            data = want_str(source.get("data"), f"{path}.source.data", nonempty=True)
            if block.get("context") is not None:
                self.ctx.note(f"{path}.context", "dropped", "OpenAI file parts carry no context")
            file = {"filename": title or DEFAULT_PDF_FILENAME, "file_data": f"data:application/pdf;base64,{data}"}
            return [{"type": "file", "file": file}]
        if kind == "text":
            text = want_str(source.get("data"), f"{path}.source.data")
            dropped = [key for key in ("title", "context") if block.get(key) is not None]
            why = f" ({' and '.join(dropped)} not sent)" if dropped else ""
            self.ctx.note(path, "approximated", f"a plain-text document is sent as a text part{why}")
            return [{"type": "text", "text": text}]
        if kind == "content":
            parts = self._content_source(source.get("content"), f"{path}.source.content")
            self.ctx.note(path, "approximated", "a document of content blocks is sent as its parts")
            return parts
        if kind == "url":
            raise TranslationError(
                f"{path}.source.type", "OpenAI file parts take the data, not a URL: send the PDF as base64"
            )
        raise TranslationError(f"{path}.source.type", "Anthropic file ids mean nothing to an OpenAI-compatible server")

    def _content_source(self, content: Any, path: str) -> list[Part]:
        if isinstance(content, str):
            return [{"type": "text", "text": content}]
        parts: list[Part] = []
        for j, item in enumerate(want_list(content, path)):
            block = want_object(item, f"{path}[{j}]")
            kind = block.get("type")
            self._known_keys(block, kind, f"{path}[{j}]")
            if kind == "text":
                parts.append(self._text(block, f"{path}[{j}]"))
            elif kind == "image":
                parts.append(self._image(block, f"{path}[{j}]"))
            else:
                raise TranslationError(f"{path}[{j}].type", f'expected "text" or "image", got {kind!r}')
        return parts

    def _search_result(self, block: dict[str, Any], path: str) -> Part:
        texts: list[str] = []
        for j, item in enumerate(want_list(block.get("content"), f"{path}.content")):
            part = want_object(item, f"{path}.content[{j}]")
            self._known_keys(part, "text", f"{path}.content[{j}]")
            texts.append(self._text(part, f"{path}.content[{j}]")["text"])
        want_str(block.get("source"), f"{path}.source")
        self.ctx.note(path, "approximated", "a search result is sent as its text (source and title not sent)")
        if block.get("citations") is not None:
            self.ctx.note(f"{path}.citations", "dropped", _CITATIONS_DROPPED)
        return {"type": "text", "text": "\n".join(texts)}

    def _source(self, value: Any, path: str) -> tuple[dict[str, Any], Any]:
        source = want_object(value, path)
        kind = source.get("type")
        known = ANTHROPIC_SOURCE_KEYS.get(kind) if isinstance(kind, str) else None
        if known is None:
            raise TranslationError(f"{path}.type", f"unknown source type {kind!r}")
        if not known.issuperset(source):
            self.ctx.unknown_keys(source, known, path)
        return source, kind

    def _tool_use(self, block: dict[str, Any], path: str) -> dict[str, Any]:
        call_id = want_str(block.get("id"), f"{path}.id", nonempty=True)
        name = want_str(block.get("name"), f"{path}.name", nonempty=True)
        arguments = block.get("input")
        if type(arguments) is not dict:
            want_object(arguments, f"{path}.input")
        for key in ("caller", "toolset_name"):
            if block.get(key) is not None:
                self.ctx.note(f"{path}.{key}", "dropped", "an Anthropic tool-use detail with no OpenAI field")
        return {"id": call_id, "type": "function", "function": {"name": name, "arguments": tool_arguments(arguments)}}

    def _tool_result(self, block: dict[str, Any], path: str, moved: list[Part], answered: set[str]) -> Message:
        self._known_keys(block, "tool_result", path)
        call_id = block.get("tool_use_id")
        if type(call_id) is not str or not call_id:
            call_id = want_str(call_id, f"{path}.tool_use_id", nonempty=True)
        if call_id not in self._open_calls:
            raise TranslationError(f"{path}.tool_use_id", "no tool_use block of the assistant turn before has this id")
        answered.add(call_id)
        if block.get("toolset_name") is not None:
            self.ctx.note(f"{path}.toolset_name", "dropped", "an Anthropic tool-use detail with no OpenAI field")
        is_error = block.get("is_error")
        if is_error is not None and want_bool(is_error, f"{path}.is_error"):
            self.ctx.note(
                f"{path}.is_error",
                "approximated",
                "OpenAI tool messages have no error flag: the result is sent as it is",
            )
        content = block.get("content")
        if content is None or type(content) is str:
            return {"role": "tool", "tool_call_id": call_id, "content": content or ""}
        before = len(moved)
        texts = self._result_content(content, f"{path}.content", moved)
        if len(moved) > before:
            self.ctx.note(
                f"{path}.content",
                "approximated",
                "OpenAI tool messages take text only: its images and files are sent in a user message after the"
                " tool messages",
            )
        return {"role": "tool", "tool_call_id": call_id, "content": _content(texts) if texts else ""}

    def _result_content(self, content: Any, path: str, moved: list[Part]) -> list[Part]:
        """A tool result's blocks: its text parts; images and files go to `moved`."""
        texts: list[Part] = []
        for j, item in enumerate(want_list(content, path)):
            ipath = f"{path}[{j}]"
            part = want_object(item, ipath)
            kind = part.get("type")
            self._known_keys(part, kind, ipath)
            if kind == "text":
                texts.append(self._text(part, ipath))
            elif kind == "image":
                moved.append(self._image(part, ipath))
            elif kind == "document":
                for piece in self._document(part, ipath):
                    (texts if piece["type"] == "text" else moved).append(piece)
            elif kind == "search_result":
                texts.append(self._search_result(part, ipath))
            else:
                raise TranslationError(f"{ipath}.type", f"a tool result cannot hold {kind!r} blocks")
        return texts

    # ---- pairing -----------------------------------------------------------------------------

    def _answered_by(self, answered: set[str], path: str) -> None:
        """After a user turn: every call of the assistant turn before must have had its result there."""
        for call_id, call_path in self._open_calls.items():
            if call_id not in answered:
                self.ctx.refuse(call_path, f"no tool_result answers this call in the user turn after it ({path})")
        self._open_calls = {}

    def _unanswered(self) -> None:
        for call_path in self._open_calls.values():
            self.ctx.refuse(call_path, "no tool_result answers this call in a user turn after it")
        self._open_calls = {}


def _plain_assistant_block(item: dict[str, Any], texts: list[str], calls: list[dict[str, Any]]) -> bool:
    """The short paths of an assistant turn: a text block or a tool_use block with nothing else in it.
    False for anything else (the full rules then read it)."""
    kind, size = item.get("type"), len(item)
    if kind == "text" and size == 2 and type(item.get("text")) is str:
        texts.append(item["text"])
        return True
    if kind == "tool_use" and size == 4:
        call_id, name, arguments = item.get("id"), item.get("name"), item.get("input")
        if type(call_id) is str and call_id and type(name) is str and name and type(arguments) is dict:
            function = {"name": name, "arguments": tool_arguments(arguments)}
            calls.append({"id": call_id, "type": "function", "function": function})
            return True
    return False


def server_block_text(block: dict[str, Any]) -> str:
    """A server tool's block from an earlier turn, as a line of text the model can read: the use and
    its input, or the result (the pages a search found, the page fetched, or the error)."""
    from pydantic_core import to_json  # imported on first use: start-up time

    kind = block.get("type")
    if kind in ("server_tool_use", "mcp_tool_use"):
        return f"\n[{block.get('name')} {to_json(block.get('input') or {}).decode()}]\n"
    content = block.get("content")
    if isinstance(content, dict) and isinstance(content.get("error_code"), str):
        return f"\n[{kind}: error {content['error_code']}]\n"
    if isinstance(content, list):  # web search results
        found = [f"- {r.get('title', '')} {r.get('url', '')}" for r in content if isinstance(r, dict)]
        return f"\n[{kind}:\n" + "\n".join(found) + "]\n"
    return f"\n[{kind}: {to_json(content).decode()[:2000]}]\n"


def _content(parts: list[Part]) -> str | list[Part]:
    """One text part is sent as a plain string (what every server reads); anything else as parts."""
    if len(parts) == 1 and parts[0]["type"] == "text":
        text: str = parts[0]["text"]
        return text
    return parts
