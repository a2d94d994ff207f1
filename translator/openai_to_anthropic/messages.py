"""OpenAI `messages` -> Anthropic `system` + `messages`.

One function per message role and per content-part kind. The rules Anthropic enforces and
OpenAI does not are made to hold here:
- system and developer messages, wherever they stand, become top-level `system` blocks in order;
- turns alternate user/assistant (consecutive same-role turns are merged);
- every tool result sits in the user turn right after the assistant turn that made the call,
  results first, then any user content;
- no empty or whitespace-only text block is sent, and a final assistant turn (prefill) does
  not end in whitespace.

Every key of every message and part is read or noted: a key the translation does not know is a
"dropped" note with its JSON path. A message, content part or tool call that cannot be translated
adds its problems to the context and the rest is still translated, so one run reports them all.
What the target model cannot take (images, PDFs, a prefill) is refused when the model table knows it.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import re
from collections.abc import Callable
from typing import Any

from protoshift.translator.checks import check_json, is_plain_text, type_name, want_list, want_object, want_str
from protoshift.translator.errors import TranslationError
from protoshift.translator.openai_to_anthropic.caching import cache_control
from protoshift.translator.openai_to_anthropic.context import Context
from protoshift.translator.tables import (
    CALL_FUNCTION_KEYS,
    FILE_KEYS,
    IMAGE_MEDIA_TYPES,
    IMAGE_URL_KEYS,
    MESSAGE_KEYS,
    PART_KEYS,
    PROMPT_CACHE_BREAKPOINT_KEYS,
    THINKING_BLOCK_KEYS,
    TOOL_CALL_KEYS,
)

Block = dict[str, Any]

_EMPTY_USER = "empty message (Anthropic rejects empty content)"
_EMPTY_ASSISTANT = "empty assistant message (Anthropic rejects empty content)"
_SAFE_ID = re.compile(r"^[a-zA-Z0-9_-]+$")
_UNSAFE_ID_CHARS = re.compile(r"[^a-zA-Z0-9_-]")
_DATA_URL = re.compile(r"^data:([^;,]*)((?:;[^;,]*)*),", re.DOTALL)
_TEXT_PART_KEYS = PART_KEYS["text"]
# An assistant message with these keys only needs none of the rarer fields read.
_PLAIN_ASSISTANT_KEYS = frozenset({"role", "content", "tool_calls", "name", "cache_control"})
# Blocks that can carry a cache_control breakpoint (thinking blocks cannot).
_CACHEABLE = frozenset({"text", "image", "document", "tool_use", "tool_result"})


_MESSAGE_DEPTH = 2  # a message's depth in its request: request -> messages -> message


class MessageConverter:
    """Converts one request's messages; holds the state that spans messages (tool-call pairing)."""

    def __init__(self, ctx: Context, *, checked: bool = False) -> None:
        self.ctx = ctx
        self.notes = ctx.notes
        self._checked = checked  # the messages are plain JSON already (check_json): not walked again
        self.system: list[Block] = []
        self.turns: list[dict[str, Any]] = []
        # Calls of the latest assistant turn still waiting for a result: Anthropic id -> path of the call.
        self._open_calls: dict[str, str] = {}
        self._answered: set[str] = set()
        # Legacy function_call turns have no ids: (name, generated id), latest last.
        self._legacy_calls: list[tuple[str, str]] = []
        self._ids: dict[str, str] = {}
        self._seen_conversation = False
        self._last_assistant = -1  # index of the last assistant message sent (for the prefill note)
        self._last_result: Block | None = None  # the tool_result block a tool message became

    # ---- entry point -------------------------------------------------------------------------

    def convert(self, messages: list[Any]) -> tuple[list[Block], list[dict[str, Any]]]:
        turns = self.turns
        problems = self.ctx.problems
        before = len(problems)
        for i, message in enumerate(messages):
            # Most turns of a long conversation are {"role": ..., "content": "some text"}: they take
            # this short path. Anything else, empty text included, goes through the full rules below.
            if type(message) is dict:
                size = len(message)
                if size == 2:
                    role, content = message.get("role"), message.get("content")
                    if (
                        type(content) is str
                        and (role == "user" or (role == "assistant" and not self._open_calls))
                        and content
                        and not content.isspace()
                        and is_plain_text(content)  # the rest of the message is known: check_json's one question
                    ):
                        self._seen_conversation = True
                        if role == "assistant":
                            self._last_assistant = i
                        if turns and turns[-1]["role"] == role:
                            turns[-1]["content"].append({"type": "text", "text": content})
                        else:
                            turns.append({"role": role, "content": [{"type": "text", "text": content}]})
                        continue
                elif size == 3 and message.get("role") == "tool":
                    # A tool loop's results: {"role": "tool", "tool_call_id": ..., "content": "..."} and nothing else,
                    # answering a call that waits for it. Anything else, a wrong id included, goes the full way.
                    call_id, content = message.get("tool_call_id"), message.get("content")
                    if (
                        type(call_id) is str
                        and call_id
                        and type(content) is str
                        and is_plain_text(content)
                        and is_plain_text(call_id)
                        and (tool_use_id := self._ids.get(call_id, call_id)) in self._open_calls
                    ):
                        self._add_result(tool_use_id, content, f"messages[{i}]", "tool_call_id")
                        continue
            self._message(message, f"messages[{i}]", i)
        self._require_results_answered()
        self._check_prefill()
        if not self.turns and len(problems) == before:
            raise TranslationError("messages", "no user or assistant message: Anthropic needs at least one")
        return self.system, self.turns

    def _message(self, message: Any, path: str, i: int) -> None:
        """One message by the full rules; what cannot be translated is added to the problems."""
        try:
            if not self._checked:
                check_json(message, path, _MESSAGE_DEPTH)  # as `request` checks the rest of the request
            msg = message if type(message) is dict else want_object(message, path)
            role = msg.get("role")
            known = MESSAGE_KEYS.get(role) if isinstance(role, str) else None
            if known is None or not isinstance(role, str):
                raise _role_error(role, path)
            if not known.issuperset(msg):
                self.ctx.unknown_keys(msg, known, path)
            if role != "function" and msg.get("name") is not None:
                self.ctx.note(f"{path}.name", "dropped", "Anthropic messages have no participant name")
            cc = msg.get("cache_control")
            mark = self._mark() if cc is not None else (0, 0, 0)
            _ROLES[role](self, msg, path, i)
            if cc is not None:
                self._message_cache_control(cc, path, role, mark)
        except TranslationError as exc:
            self.ctx.failed(exc)

    # ---- roles -------------------------------------------------------------------------------

    def _system(self, msg: dict[str, Any], path: str, i: int) -> None:
        if self._seen_conversation:
            self.ctx.note(
                path,
                "approximated",
                "moved to the top-level system prompt (Anthropic has no mid-conversation system turns)",
            )
        content = msg.get("content")
        if isinstance(content, str):
            if content.strip():
                self.system.append({"type": "text", "text": content})
            return
        for j, item in enumerate(want_list(content, f"{path}.content")):
            ppath = f"{path}.content[{j}]"
            try:
                part = want_object(item, ppath)
                if part.get("type") != "text":
                    raise TranslationError(f"{ppath}.type", f"system content must be text, got {part.get('type')!r}")
                if not _TEXT_PART_KEYS.issuperset(part):
                    self.ctx.unknown_keys(part, _TEXT_PART_KEYS, ppath)
                block = self._text_part(part, ppath)
            except TranslationError as exc:
                self.ctx.failed(exc)
                continue
            if block is not None:
                self.system.append(block)

    def _user(self, msg: dict[str, Any], path: str, i: int) -> None:
        self._seen_conversation = True
        before = len(self.ctx.problems)
        blocks = self._content(msg.get("content"), f"{path}.content", allow_media=True)
        if not blocks:
            if len(self.ctx.problems) == before:  # not empty because its parts failed
                self.ctx.note(f"{path}.content", "dropped", _EMPTY_USER)
            return
        self._append("user", blocks)

    def _assistant(self, msg: dict[str, Any], path: str, i: int) -> None:
        self._require_results_answered()
        self._seen_conversation = True
        before = len(self.ctx.problems)
        rare = not _PLAIN_ASSISTANT_KEYS.issuperset(msg)  # LiteLLM's reasoning, refusals, audio, legacy calls
        blocks: list[Block] = self._reasoning(msg, path) if rare else []
        content = msg.get("content")
        if content is not None:
            blocks.extend(self._content(content, f"{path}.content", allow_media=False))
        if rare:
            self._assistant_extras(msg, path, i, blocks)
        tool_calls = msg.get("tool_calls")
        if tool_calls is not None:
            for j, call in enumerate(
                tool_calls if type(tool_calls) is list else want_list(tool_calls, f"{path}.tool_calls")
            ):
                try:
                    blocks.append(self._tool_call(call, f"{path}.tool_calls[{j}]"))
                except TranslationError as exc:
                    self.ctx.failed(exc)
                    self._keep_failed_call_open(call, f"{path}.tool_calls[{j}]")
        if rare and (function_call := msg.get("function_call")) is not None:
            self._function_call(function_call, f"{path}.function_call", i, blocks)
        if not blocks:
            if len(self.ctx.problems) == before:
                self.ctx.note(path, "dropped", _EMPTY_ASSISTANT)
            return
        self._last_assistant = i
        self._append("assistant", blocks)

    def _reasoning(self, msg: dict[str, Any], path: str) -> list[Block]:
        """An earlier answer's reasoning: its thinking blocks, handed back as they were."""
        thinking = msg.get("thinking_blocks")
        if thinking is not None:  # reasoning_content, if any, is the same text: thinking_blocks carry it
            return self._thinking_blocks(thinking, f"{path}.thinking_blocks")
        if msg.get("reasoning_content"):
            self.ctx.note(
                f"{path}.reasoning_content",
                "dropped",
                "reasoning without its signature cannot be handed back to Anthropic",
            )
        return []

    def _function_call(self, function_call: Any, path: str, i: int, blocks: list[Block]) -> None:
        """A legacy `function_call`: a tool_use block; if it fails, its result is still awaited by name."""
        try:
            blocks.append(self._legacy_call(function_call, path))
        except TranslationError as exc:
            self.ctx.failed(exc)
            if isinstance(function_call, dict) and isinstance(function_call.get("name"), str):
                self._legacy_calls.append((function_call["name"], f"call_legacy_failed_{i}"))
                self._open_calls[f"call_legacy_failed_{i}"] = path

    def _assistant_extras(self, msg: dict[str, Any], path: str, i: int, blocks: list[Block]) -> None:
        refusal = msg.get("refusal")
        if refusal is not None:
            text = want_str(refusal, f"{path}.refusal")
            if text.strip():
                blocks.append({"type": "text", "text": text})
                self.ctx.note(f"{path}.refusal", "approximated", "an earlier refusal is sent back as plain text")
        if msg.get("annotations"):
            self.ctx.note(
                f"{path}.annotations", "dropped", "citations of an earlier answer cannot be handed back to Anthropic"
            )
        if msg.get("audio") is not None:
            self.ctx.note(f"{path}.audio", "dropped", "Anthropic has no audio turns")

    def _tool(self, msg: dict[str, Any], path: str, i: int) -> None:
        call_id = msg.get("tool_call_id")
        if type(call_id) is not str or not call_id:
            call_id = want_str(call_id, f"{path}.tool_call_id", nonempty=True)
        tool_use_id = self._ids.get(call_id, call_id)
        self._add_result(tool_use_id, msg.get("content"), path, "tool_call_id")

    def _function(self, msg: dict[str, Any], path: str, i: int) -> None:
        name = want_str(msg.get("name"), f"{path}.name", nonempty=True)
        for k in range(len(self._legacy_calls) - 1, -1, -1):
            call_name, call_id = self._legacy_calls[k]
            if call_name == name and call_id in self._open_calls:
                del self._legacy_calls[k]
                self._add_result(call_id, msg.get("content"), path, "name")
                return
        raise TranslationError(f"{path}.name", f"no earlier function_call to {name!r} is waiting for this result")

    def _message_cache_control(self, value: Any, path: str, role: str, mark: tuple[int, int, int]) -> None:
        """A breakpoint on a whole message goes on the last block that message became."""
        cc_path = f"{path}.cache_control"
        cc = cache_control(value, cc_path)
        target = self._last_block_since(role, mark)
        if target is None:
            self.ctx.note(cc_path, "dropped", "the message sends no block that can carry a cache breakpoint")
        elif "cache_control" in target:
            self.ctx.note(cc_path, "dropped", "its last content part already sets a cache breakpoint")
        else:
            target["cache_control"] = cc
            self.ctx.breakpoints.append((target, cc_path))
            self.ctx.note(cc_path, "kept", "Anthropic prompt-caching breakpoint, on the message's last block")

    def _mark(self) -> tuple[int, int, int]:
        """Where the next message's blocks will start: system blocks, turns, blocks of the last turn."""
        return len(self.system), len(self.turns), len(self.turns[-1]["content"]) if self.turns else 0

    def _last_block_since(self, role: str, mark: tuple[int, int, int]) -> Block | None:
        """The last block that can carry a breakpoint among those the message added after `mark`."""
        system_count, turn_count, block_count = mark
        if role in ("system", "developer"):
            added: list[Block] = self.system[system_count:]
        elif role in ("tool", "function"):
            added = [self._last_result] if self._last_result is not None else []
        elif not self.turns:
            added = []
        elif len(self.turns) == turn_count:  # merged into the turn before
            added = self.turns[-1]["content"][block_count:]
        else:
            added = self.turns[-1]["content"]
        for block in reversed(added):
            if block["type"] in _CACHEABLE:
                return block
        return None

    # ---- tool calls and results --------------------------------------------------------------

    def _tool_call(self, call: Any, path: str) -> Block:
        # The hot path of tool-heavy conversations: each check costs one type test, and the JSON
        # path of a field is spelled out only when that field is wrong.
        call = call if type(call) is dict else want_object(call, path)
        kind = call.get("type")
        call_id = call.get("id")
        fn = call.get("function")
        if len(call) != 3 or kind is None or call_id is None or fn is None:  # the usual three keys, or else
            if not TOOL_CALL_KEYS.issuperset(call):
                self.ctx.unknown_keys(call, TOOL_CALL_KEYS, path)
            kind = "function" if kind is None else kind
        if kind != "function":
            raise TranslationError(f"{path}.type", f"only function tool calls can be sent to Anthropic, got {kind!r}")
        if type(call_id) is not str or not call_id:
            call_id = want_str(call_id, f"{path}.id", nonempty=True)
        fn = fn if type(fn) is dict else want_object(fn, f"{path}.function")
        name = fn.get("name")
        raw_arguments = fn.get("arguments")
        if (len(fn) != 2 or name is None or raw_arguments is None) and not CALL_FUNCTION_KEYS.issuperset(fn):
            self.ctx.unknown_keys(fn, CALL_FUNCTION_KEYS, f"{path}.function")
        if type(name) is not str or not name:
            name = want_str(name, f"{path}.function.name", nonempty=True)
        arguments = _parse_arguments(raw_arguments, path, ".function.arguments")
        tool_use_id = self._anthropic_id(call_id)
        if tool_use_id in self._open_calls or tool_use_id in self._answered:
            raise TranslationError(f"{path}.id", f"tool call id {call_id!r} is used twice")
        self._open_calls[tool_use_id] = path
        self.ctx.tool_use_seen = True
        return {"type": "tool_use", "id": tool_use_id, "name": name, "input": arguments}

    def _keep_failed_call_open(self, call: Any, path: str) -> None:
        """A call that failed still waits for its result, so the result is not reported as a second problem."""
        call_id = call.get("id") if isinstance(call, dict) else None
        if isinstance(call_id, str) and call_id:
            tool_use_id = self._anthropic_id(call_id)
            if tool_use_id not in self._answered:
                self._open_calls[tool_use_id] = path

    def _legacy_call(self, call: Any, path: str) -> Block:
        call = want_object(call, path)
        if not CALL_FUNCTION_KEYS.issuperset(call):
            self.ctx.unknown_keys(call, CALL_FUNCTION_KEYS, path)
        name = want_str(call.get("name"), f"{path}.name", nonempty=True)
        arguments = _parse_arguments(call.get("arguments"), path, ".arguments")
        tool_use_id = f"call_legacy_{len(self._answered) + len(self._open_calls)}"
        self._legacy_calls.append((name, tool_use_id))
        self._open_calls[tool_use_id] = path
        self.ctx.tool_use_seen = True
        return {"type": "tool_use", "id": tool_use_id, "name": name, "input": arguments}

    def _add_result(self, tool_use_id: str, content: Any, path: str, id_field: str) -> None:
        if tool_use_id not in self._open_calls:
            if tool_use_id in self._answered:
                raise TranslationError(f"{path}.{id_field}", "this tool call already has a result")
            raise TranslationError(f"{path}.{id_field}", "no tool call in the assistant message before it has this id")
        del self._open_calls[tool_use_id]
        self._answered.add(tool_use_id)
        block: Block = {"type": "tool_result", "tool_use_id": tool_use_id}
        self._last_result = block
        result = content if type(content) is str else self._tool_result_content(content, f"{path}.content")
        if result:
            block["content"] = result
        # Results go first in the user turn right after the call, before any user content there.
        last = self.turns[-1] if self.turns else None
        if last is None or last["role"] != "user":
            self.turns.append({"role": "user", "content": [block]})
            return
        blocks = last["content"]
        at = 0
        while at < len(blocks) and blocks[at]["type"] == "tool_result":
            at += 1
        blocks.insert(at, block)

    def _tool_result_content(self, content: Any, path: str) -> str | list[Block]:
        if content is None:
            return ""
        if isinstance(content, str):
            return content
        return self._content(content, path, allow_media=True)

    def _require_results_answered(self) -> None:
        """Anthropic needs a result for every call before the conversation moves on: each call left
        unanswered is a problem (and then counts as answered, so it is reported once)."""
        if self._open_calls:
            for call_path in self._open_calls.values():
                self.ctx.refuse(call_path, "no tool message answers this call before the next turn")
            self._answered.update(self._open_calls)
            self._open_calls.clear()

    def _anthropic_id(self, openai_id: str) -> str:
        """Anthropic ids must match ^[a-zA-Z0-9_-]+$; other providers' ids are rewritten consistently."""
        if _SAFE_ID.match(openai_id):
            return openai_id
        safe = self._ids.get(openai_id)
        if safe is None:
            digest = hashlib.blake2s(openai_id.encode(), digest_size=4).hexdigest()  # no clash with real ids
            safe = f"{_UNSAFE_ID_CHARS.sub('_', openai_id)}_{digest}"
            self._ids[openai_id] = safe
        return safe

    # ---- content -----------------------------------------------------------------------------

    def _content(self, content: Any, path: str, *, allow_media: bool) -> list[Block]:
        if isinstance(content, str):
            return [{"type": "text", "text": content}] if content and not content.isspace() else []
        if content is None:
            raise TranslationError(path, "is required")
        blocks: list[Block] = []
        for j, part in enumerate(want_list(content, path)):
            try:
                block = self._part(
                    part if type(part) is dict else want_object(part, f"{path}[{j}]"), f"{path}[{j}]", allow_media
                )
            except TranslationError as exc:
                self.ctx.failed(exc)
                continue
            if block is not None:
                blocks.append(block)
        return blocks

    def _part(self, part: dict[str, Any], path: str, allow_media: bool) -> Block | None:
        kind = part.get("type")
        if len(part) != 2 or type(kind) is not str or kind not in part:  # {"type": k, k: ...}: no other key
            known = PART_KEYS.get(kind) if isinstance(kind, str) else None
            if known is not None and not known.issuperset(part):
                self.ctx.unknown_keys(part, known, path)
        match kind:
            case "text":
                return self._text_part(part, path)
            case "refusal":
                text = want_str(part.get("refusal"), f"{path}.refusal")
                self.ctx.note(path, "approximated", "an earlier refusal is sent back as plain text")
                return {"type": "text", "text": text} if text.strip() else None
            case "image_url" if allow_media:
                return self._image_part(part, path)
            case "file" if allow_media:
                return self._file_part(part, path)
            case "image_url" | "file":
                raise TranslationError(f"{path}.type", f"{kind} parts are only allowed in user and tool messages")
            case "input_audio":
                raise TranslationError(f"{path}.type", "audio input is not supported by Anthropic")
            case None:
                raise TranslationError(f"{path}.type", "is required")
            case _:
                raise TranslationError(f"{path}.type", f"content part type {kind!r} is not supported")

    def _text_part(self, part: dict[str, Any], path: str) -> Block | None:
        text = want_str(part.get("text"), f"{path}.text")
        if not text or text.isspace():
            if part.get("cache_control") is not None:
                cache_control(part["cache_control"], f"{path}.cache_control")
                self.ctx.note(f"{path}.cache_control", "dropped", "it marks an empty text block, which is not sent")
            if part.get("prompt_cache_breakpoint") is not None:
                self.ctx.note(
                    f"{path}.prompt_cache_breakpoint", "dropped", "it marks an empty text block, which is not sent"
                )
            return None
        block: Block = {"type": "text", "text": text}
        if len(part) > 2:
            self._with_cache_control(block, part, path)
        return block

    def _image_part(self, part: dict[str, Any], path: str) -> Block:
        image = part.get("image_url")
        if isinstance(image, str):  # some clients send the URL bare
            url, detail = image, None
        else:
            image = want_object(image, f"{path}.image_url")
            if not IMAGE_URL_KEYS.issuperset(image):
                self.ctx.unknown_keys(image, IMAGE_URL_KEYS, f"{path}.image_url")
            url = want_str(image.get("url"), f"{path}.image_url.url", nonempty=True)
            detail = image.get("detail")
        facts = self.ctx.facts
        if facts is not None and facts.vision is False:
            raise TranslationError(f"{path}.type", f"{self.ctx.model} does not take images")
        if detail is not None and detail != "auto":
            self.ctx.note(f"{path}.image_url.detail", "dropped", "Anthropic chooses image resolution itself")
        block: Block = {"type": "image", "source": _image_source(url, f"{path}.image_url.url")}
        return self._with_cache_control(block, part, path)

    def _file_part(self, part: dict[str, Any], path: str) -> Block:
        file = want_object(part.get("file"), f"{path}.file")
        if not FILE_KEYS.issuperset(file):
            self.ctx.unknown_keys(file, FILE_KEYS, f"{path}.file")
        if file.get("file_id") is not None:
            raise TranslationError(
                f"{path}.file.file_id",
                "OpenAI file ids point into OpenAI's storage; send the data as file_data",
            )
        data = want_str(file.get("file_data"), f"{path}.file.file_data", nonempty=True)
        source = _document_source(data, f"{path}.file.file_data")
        facts = self.ctx.facts
        if facts is not None and facts.pdf is False and source["media_type"] == "application/pdf":
            raise TranslationError(f"{path}.file.file_data", f"{self.ctx.model} does not take PDF documents")
        block: Block = {"type": "document", "source": source}
        filename = file.get("filename")
        if filename is not None and want_str(filename, f"{path}.file.filename"):
            block["title"] = filename
        return self._with_cache_control(block, part, path)

    def _with_cache_control(self, block: Block, part: dict[str, Any], path: str) -> Block:
        """A caller's prompt-caching breakpoint on a part stays on the block it becomes: Anthropic's
        own `cache_control`, or OpenAI's `prompt_cache_breakpoint` (which becomes one)."""
        if part.get("cache_control") is not None:
            cc_path = f"{path}.cache_control"
            block["cache_control"] = cache_control(part["cache_control"], cc_path)
            self.ctx.breakpoints.append((block, cc_path))
            self.ctx.note(cc_path, "kept", "Anthropic prompt-caching breakpoint")
        if part.get("prompt_cache_breakpoint") is not None:
            bp_path = f"{path}.prompt_cache_breakpoint"
            breakpoint_ = want_object(part["prompt_cache_breakpoint"], bp_path)
            if not PROMPT_CACHE_BREAKPOINT_KEYS.issuperset(breakpoint_):
                self.ctx.unknown_keys(breakpoint_, PROMPT_CACHE_BREAKPOINT_KEYS, bp_path)
            if breakpoint_.get("mode") != "explicit":
                raise TranslationError(f"{bp_path}.mode", 'must be "explicit"')
            if "cache_control" not in block:  # else the part's cache_control already marks this place
                block["cache_control"] = {"type": "ephemeral"}
                self.ctx.breakpoints.append((block, bp_path))
                self.ctx.note(
                    bp_path,
                    "approximated",
                    "a cache_control breakpoint with Anthropic's default 5-minute lifetime (OpenAI keeps at least"
                    ' 30 minutes; send cache_control {"type": "ephemeral", "ttl": "1h"} for longer)',
                )
        return block

    def _thinking_blocks(self, value: Any, path: str) -> list[Block]:
        """Thinking blocks from an earlier response, handed back with their signatures."""
        blocks: list[Block] = []
        for j, raw in enumerate(want_list(value, path)):
            bpath = f"{path}[{j}]"
            item = want_object(raw, bpath)
            kind = item.get("type")
            known = THINKING_BLOCK_KEYS.get(kind) if isinstance(kind, str) else None
            if known is not None and not known.issuperset(item):
                self.ctx.unknown_keys(item, known, bpath)
            if kind == "thinking":
                blocks.append(
                    {
                        "type": "thinking",
                        "thinking": want_str(item.get("thinking"), f"{bpath}.thinking"),
                        "signature": want_str(item.get("signature"), f"{bpath}.signature", nonempty=True),
                    }
                )
            elif kind == "redacted_thinking":
                blocks.append(
                    {
                        "type": "redacted_thinking",
                        "data": want_str(item.get("data"), f"{bpath}.data", nonempty=True),
                    }
                )
            else:
                raise TranslationError(f"{bpath}.type", 'expected "thinking" or "redacted_thinking"')
        return blocks

    # ---- turns -------------------------------------------------------------------------------

    def _append(self, role: str, blocks: list[Block]) -> None:
        if self.turns and self.turns[-1]["role"] == role:
            self.turns[-1]["content"].extend(blocks)
        else:
            self.turns.append({"role": role, "content": blocks})

    def _check_prefill(self) -> None:
        """A final assistant turn is a prefill: refused for a model known not to take one, and not
        ending in whitespace (Anthropic rejects that) for the others."""
        if not self.turns or self.turns[-1]["role"] != "assistant":
            return
        path = f"messages[{self._last_assistant}]"
        facts = self.ctx.facts
        if facts is not None and facts.prefill is False:
            self.ctx.refuse(
                path,
                f"{self.ctx.model} does not take a prefilled answer (a last assistant message); end with a user message",
            )
            return
        blocks = self.turns[-1]["content"]
        last = blocks[-1]
        if last["type"] == "text" and last["text"] != last["text"].rstrip():
            last["text"] = last["text"].rstrip()
            self.ctx.note(
                f"{path}.content",
                "approximated",
                "trailing whitespace removed: Anthropic rejects a final assistant message (prefill) ending in it",
            )


# Each role's rules (every handler takes the message, its JSON path and its index).
_ROLES: dict[str, Callable[[MessageConverter, dict[str, Any], str, int], None]] = {
    "user": MessageConverter._user,
    "assistant": MessageConverter._assistant,
    "system": MessageConverter._system,
    "developer": MessageConverter._system,
    "tool": MessageConverter._tool,
    "function": MessageConverter._function,
}


def _role_error(role: Any, path: str) -> TranslationError:
    if role is None:
        return TranslationError(f"{path}.role", "is required")
    return TranslationError(
        f"{path}.role",
        f"unknown role {role!r} (expected system, developer, user, assistant, tool or function)",
    )


def _parse_arguments(raw: Any, base: str, field: str) -> dict[str, Any]:
    """Tool-call arguments (a JSON string) -> the object Anthropic takes as `input`.
    The field's JSON path is `base + field`, spelled out only for an error."""
    if raw is None or raw == "":
        return {}
    if isinstance(raw, dict):  # already parsed by a lenient client
        return raw
    text = raw if type(raw) is str else want_str(raw, base + field)
    try:
        value = _json_parser()(text)
    except ValueError as exc:
        raise TranslationError(base + field, f"is not valid JSON ({exc})") from None
    if not isinstance(value, dict):
        raise TranslationError(base + field, f"must be a JSON object, got {type_name(value)}")
    return value


@functools.cache
def _json_parser() -> Callable[[str], Any]:
    """pydantic-core's parser takes a fifth of json.loads's time; imported on first use because it
    adds ~40 ms to start-up, which a request without tool calls need not pay."""
    from pydantic_core import from_json

    return from_json


def _image_source(url: str, path: str) -> dict[str, Any]:
    if url.startswith("data:"):
        media_type, data = _split_data_url(url, path)
        if media_type not in IMAGE_MEDIA_TYPES:
            allowed = ", ".join(sorted(IMAGE_MEDIA_TYPES))
            raise TranslationError(path, f"image type {media_type or 'unknown'!r} is not supported ({allowed})")
        return {"type": "base64", "media_type": media_type, "data": data}
    if url.startswith(("https://", "http://")):
        return {"type": "url", "url": url}
    raise TranslationError(path, "expected an http(s) URL or a base64 data: URL")


def _document_source(data: str, path: str) -> dict[str, Any]:
    if data.startswith("data:"):
        media_type, payload = _split_data_url(data, path)
    else:  # bare base64; PDF is recognised by its magic number
        media_type, payload = ("application/pdf" if data.startswith("JVBER") else ""), data
    if media_type == "application/pdf":
        return {"type": "base64", "media_type": "application/pdf", "data": payload}
    if media_type == "text/plain":
        try:
            text = base64.b64decode(payload, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise TranslationError(path, "text/plain file data is not base64 of UTF-8 text") from None
        return {"type": "text", "media_type": "text/plain", "data": text}
    raise TranslationError(path, f"file type {media_type or 'unknown'!r} is not supported (PDF or plain text)")


def _split_data_url(url: str, path: str) -> tuple[str, str]:
    match = _DATA_URL.match(url)
    if match is None or ";base64" not in match.group(2):
        raise TranslationError(path, "expected a base64 data: URL (data:<type>;base64,<data>)")
    data = url[match.end() :]
    if not data:
        raise TranslationError(path, "the data: URL carries no data")
    return match.group(1).lower(), data
