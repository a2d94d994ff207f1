"""OpenAI `messages` -> Anthropic `system` + `messages`.

One function per message role and per content-part kind. The rules Anthropic enforces and
OpenAI does not are made to hold here:
- system and developer messages, wherever they stand, become top-level `system` blocks in order;
- turns alternate user/assistant (consecutive same-role turns are merged);
- every tool result sits in the user turn right after the assistant turn that made the call,
  results first, then any user content;
- no empty or whitespace-only text block is sent, and a final assistant turn (prefill) does
  not end in whitespace.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import re
from collections.abc import Callable
from typing import Any

from protoshift.translator.checks import type_name, want_list, want_object, want_str
from protoshift.translator.errors import TranslationError
from protoshift.translator.report import Note
from protoshift.translator.tables import IMAGE_MEDIA_TYPES

Block = dict[str, Any]

_EMPTY_USER = "empty message (Anthropic rejects empty content)"
_EMPTY_ASSISTANT = "empty assistant message (Anthropic rejects empty content)"
_SAFE_ID = re.compile(r"^[a-zA-Z0-9_-]+$")
_UNSAFE_ID_CHARS = re.compile(r"[^a-zA-Z0-9_-]")
_DATA_URL = re.compile(r"^data:([^;,]*)((?:;[^;,]*)*),", re.DOTALL)


def cache_control(value: Any, path: str) -> dict[str, Any]:
    """A caller's `cache_control` (an Anthropic extra) is forwarded after a shape check."""
    cc = want_object(value, path)
    for key in cc:
        if key not in ("type", "ttl"):
            raise TranslationError(f"{path}.{key}", "unknown cache_control field (Anthropic takes type and ttl)")
    if cc.get("type") != "ephemeral":
        raise TranslationError(f"{path}.type", 'must be "ephemeral"')
    ttl = cc.get("ttl")
    if ttl is not None and ttl not in ("5m", "1h"):
        raise TranslationError(f"{path}.ttl", 'must be "5m" or "1h"')
    return cc


class MessageConverter:
    """Converts one request's messages; holds the state that spans messages (tool-call pairing)."""

    def __init__(self, notes: list[Note]) -> None:
        self.notes = notes
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

    # ---- entry point -------------------------------------------------------------------------

    def convert(self, messages: list[Any]) -> tuple[list[Block], list[dict[str, Any]]]:
        turns = self.turns
        for i, message in enumerate(messages):
            # Most turns of a long conversation are {"role": ..., "content": "some text"}: they take
            # this short path. Anything else, empty text included, goes through the full rules below.
            if type(message) is dict and len(message) == 2:
                role, content = message.get("role"), message.get("content")
                if (
                    type(content) is str
                    and (role == "user" or (role == "assistant" and not self._open_calls))
                    and content
                    and not content.isspace()
                ):
                    self._seen_conversation = True
                    if role == "assistant":
                        self._last_assistant = i
                    if turns and turns[-1]["role"] == role:
                        turns[-1]["content"].append({"type": "text", "text": content})
                    else:
                        turns.append({"role": role, "content": [{"type": "text", "text": content}]})
                    continue
            path = f"messages[{i}]"
            msg = want_object(message, path)
            role = msg.get("role")
            if "name" in msg and role not in ("function",) and msg["name"] is not None:
                self.notes.append(Note(f"{path}.name", "dropped", "Anthropic messages have no participant name"))
            if role == "user":
                self._user(msg, path)
            elif role == "assistant":
                self._assistant(msg, path, i)
            elif role in ("system", "developer"):
                self._system(msg, path)
            elif role == "tool":
                self._tool(msg, path)
            elif role == "function":
                self._function(msg, path)
            elif role is None:
                raise TranslationError(f"{path}.role", "is required")
            else:
                raise TranslationError(
                    f"{path}.role",
                    f"unknown role {role!r} (expected system, developer, user, assistant, tool or function)",
                )
        self._require_results_answered()
        self._trim_prefill()
        if not self.turns:
            raise TranslationError("messages", "no user or assistant message: Anthropic needs at least one")
        return self.system, self.turns

    # ---- roles -------------------------------------------------------------------------------

    def _system(self, msg: dict[str, Any], path: str) -> None:
        if self._seen_conversation:
            self.notes.append(
                Note(
                    path,
                    "approximated",
                    "moved to the top-level system prompt (Anthropic has no mid-conversation system turns)",
                )
            )
        content = msg.get("content")
        if isinstance(content, str):
            if content.strip():
                self.system.append({"type": "text", "text": content})
            return
        for j, item in enumerate(want_list(content, f"{path}.content")):
            ppath = f"{path}.content[{j}]"
            part = want_object(item, ppath)
            if part.get("type") != "text":
                raise TranslationError(f"{ppath}.type", f"system content must be text, got {part.get('type')!r}")
            block = self._text_part(part, ppath)
            if block is not None:
                self.system.append(block)

    def _user(self, msg: dict[str, Any], path: str) -> None:
        self._seen_conversation = True
        content = msg.get("content")
        blocks = self._content(content, f"{path}.content", allow_media=True)
        if not blocks:
            self.notes.append(Note(f"{path}.content", "dropped", _EMPTY_USER))
            return
        self._append("user", blocks)

    def _assistant(self, msg: dict[str, Any], path: str, i: int) -> None:
        self._require_results_answered()
        self._seen_conversation = True
        blocks: list[Block] = []
        thinking = msg.get("thinking_blocks")
        if thinking is not None:
            blocks.extend(self._thinking_blocks(thinking, f"{path}.thinking_blocks"))
        elif msg.get("reasoning_content"):
            self.notes.append(
                Note(
                    f"{path}.reasoning_content",
                    "dropped",
                    "reasoning without its signature cannot be handed back to Anthropic",
                )
            )
        content = msg.get("content")
        if content is not None:
            blocks.extend(self._content(content, f"{path}.content", allow_media=False))
        if msg.get("audio") is not None:
            self.notes.append(Note(f"{path}.audio", "dropped", "Anthropic has no audio turns"))
        tool_calls = msg.get("tool_calls")
        if tool_calls is not None:
            for j, call in enumerate(want_list(tool_calls, f"{path}.tool_calls")):
                blocks.append(self._tool_call(call, f"{path}.tool_calls[{j}]"))
        function_call = msg.get("function_call")
        if function_call is not None:
            blocks.append(self._legacy_call(function_call, f"{path}.function_call"))
        if not blocks:
            self.notes.append(Note(path, "dropped", _EMPTY_ASSISTANT))
            return
        self._last_assistant = i
        self._append("assistant", blocks)

    def _tool(self, msg: dict[str, Any], path: str) -> None:
        call_id = msg.get("tool_call_id")
        if type(call_id) is not str or not call_id:
            call_id = want_str(call_id, f"{path}.tool_call_id", nonempty=True)
        tool_use_id = self._ids.get(call_id, call_id)
        self._add_result(tool_use_id, msg.get("content"), path, "tool_call_id")

    def _function(self, msg: dict[str, Any], path: str) -> None:
        name = want_str(msg.get("name"), f"{path}.name", nonempty=True)
        for k in range(len(self._legacy_calls) - 1, -1, -1):
            call_name, call_id = self._legacy_calls[k]
            if call_name == name and call_id in self._open_calls:
                del self._legacy_calls[k]
                self._add_result(call_id, msg.get("content"), path, "name")
                return
        raise TranslationError(f"{path}.name", f"no earlier function_call to {name!r} is waiting for this result")

    # ---- tool calls and results --------------------------------------------------------------

    def _tool_call(self, call: Any, path: str) -> Block:
        # The hot path of tool-heavy conversations: each check costs one type test, and the JSON
        # path of a field is spelled out only when that field is wrong.
        call = call if type(call) is dict else want_object(call, path)
        kind = call.get("type", "function")
        if kind != "function":
            raise TranslationError(f"{path}.type", f"only function tool calls can be sent to Anthropic, got {kind!r}")
        call_id = call.get("id")
        if type(call_id) is not str or not call_id:
            call_id = want_str(call_id, f"{path}.id", nonempty=True)
        fn = call.get("function")
        fn = fn if type(fn) is dict else want_object(fn, f"{path}.function")
        name = fn.get("name")
        if type(name) is not str or not name:
            name = want_str(name, f"{path}.function.name", nonempty=True)
        arguments = _parse_arguments(fn.get("arguments"), path, ".function.arguments")
        tool_use_id = self._anthropic_id(call_id)
        if tool_use_id in self._open_calls or tool_use_id in self._answered:
            raise TranslationError(f"{path}.id", f"tool call id {call_id!r} is used twice")
        self._open_calls[tool_use_id] = path
        return {"type": "tool_use", "id": tool_use_id, "name": name, "input": arguments}

    def _legacy_call(self, call: Any, path: str) -> Block:
        call = want_object(call, path)
        name = want_str(call.get("name"), f"{path}.name", nonempty=True)
        arguments = _parse_arguments(call.get("arguments"), path, ".arguments")
        tool_use_id = f"call_legacy_{len(self._answered) + len(self._open_calls)}"
        self._legacy_calls.append((name, tool_use_id))
        self._open_calls[tool_use_id] = path
        return {"type": "tool_use", "id": tool_use_id, "name": name, "input": arguments}

    def _add_result(self, tool_use_id: str, content: Any, path: str, id_field: str) -> None:
        if tool_use_id not in self._open_calls:
            if tool_use_id in self._answered:
                raise TranslationError(f"{path}.{id_field}", "this tool call already has a result")
            raise TranslationError(f"{path}.{id_field}", "no tool call in the assistant message before it has this id")
        del self._open_calls[tool_use_id]
        self._answered.add(tool_use_id)
        block: Block = {"type": "tool_result", "tool_use_id": tool_use_id}
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
        """Anthropic needs a result for every call before the conversation moves on."""
        if self._open_calls:
            call_path = next(iter(self._open_calls.values()))
            raise TranslationError(call_path, "no tool message answers this call before the next turn")

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
            block = self._part(want_object(part, f"{path}[{j}]"), f"{path}[{j}]", allow_media)
            if block is not None:
                blocks.append(block)
        return blocks

    def _part(self, part: dict[str, Any], path: str, allow_media: bool) -> Block | None:
        kind = part.get("type")
        match kind:
            case "text":
                return self._text_part(part, path)
            case "refusal":
                text = want_str(part.get("refusal"), f"{path}.refusal")
                self.notes.append(Note(path, "approximated", "an earlier refusal is sent back as plain text"))
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
                self.notes.append(
                    Note(f"{path}.cache_control", "dropped", "it marks an empty text block, which is not sent")
                )
            return None
        return self._with_cache_control({"type": "text", "text": text}, part, path)

    def _image_part(self, part: dict[str, Any], path: str) -> Block:
        image = part.get("image_url")
        if isinstance(image, str):  # some clients send the URL bare
            url, detail = image, None
        else:
            image = want_object(image, f"{path}.image_url")
            url = want_str(image.get("url"), f"{path}.image_url.url", nonempty=True)
            detail = image.get("detail")
        if detail is not None and detail != "auto":
            self.notes.append(Note(f"{path}.image_url.detail", "dropped", "Anthropic chooses image resolution itself"))
        return self._with_cache_control(
            {"type": "image", "source": _image_source(url, f"{path}.image_url.url")}, part, path
        )

    def _file_part(self, part: dict[str, Any], path: str) -> Block:
        file = want_object(part.get("file"), f"{path}.file")
        if file.get("file_id") is not None:
            raise TranslationError(
                f"{path}.file.file_id",
                "OpenAI file ids point into OpenAI's storage; send the data as file_data",
            )
        data = want_str(file.get("file_data"), f"{path}.file.file_data", nonempty=True)
        block: Block = {"type": "document", "source": _document_source(data, f"{path}.file.file_data")}
        filename = file.get("filename")
        if isinstance(filename, str) and filename:
            block["title"] = filename
        return self._with_cache_control(block, part, path)

    def _with_cache_control(self, block: Block, part: dict[str, Any], path: str) -> Block:
        """A caller's prompt-caching breakpoint on a part stays on the block it becomes."""
        if part.get("cache_control") is not None:
            block["cache_control"] = cache_control(part["cache_control"], f"{path}.cache_control")
            self.notes.append(Note(f"{path}.cache_control", "kept", "Anthropic prompt-caching breakpoint"))
        return block

    def _thinking_blocks(self, value: Any, path: str) -> list[Block]:
        """Thinking blocks from an earlier response, handed back with their signatures."""
        blocks: list[Block] = []
        for j, raw in enumerate(want_list(value, path)):
            bpath = f"{path}[{j}]"
            item = want_object(raw, bpath)
            kind = item.get("type")
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

    def _trim_prefill(self) -> None:
        """A final assistant turn is a prefill; Anthropic rejects one that ends in whitespace."""
        if not self.turns or self.turns[-1]["role"] != "assistant":
            return
        blocks = self.turns[-1]["content"]
        last = blocks[-1]
        if last["type"] == "text" and last["text"] != last["text"].rstrip():
            last["text"] = last["text"].rstrip()
            self.notes.append(
                Note(
                    f"messages[{self._last_assistant}].content",
                    "approximated",
                    "trailing whitespace removed: Anthropic rejects a final assistant message (prefill) ending in it",
                )
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
