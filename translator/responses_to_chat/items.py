"""Responses input items (the stored conversation first, then the request's own) -> chat messages.

What chat needs, and Responses does not promise, made so:
- one system message, first: `instructions`, then every `system` and `developer` message in order,
  wherever it stood (the chat templates of Qwen, Llama and Gemma refuse a system message that is not
  first): one in the middle moves there with a note, never dropped;
- an assistant turn holds what one model turn made: its text, its tool calls (`function_call`,
  `custom_tool_call`: a custom tool's raw input becomes the JSON `{"input": "..."}` of its chat
  function), its reasoning (`reasoning_content`, for DeepSeek/Qwen-style upstreams that want it back;
  OpenRouter's `reasoning_details` as they came, when the item's encrypted_content carries them);
- each call is answered by a tool message right after its turn: the outputs in the order they come;
  a user message that comes while calls still wait for their outputs follows those outputs; a call that
  never gets an output gets one saying so (with a note), as chat requires one; images and files in a
  tool's output go in a user message after the tool messages (a tool message carries text only);
- `item_reference` is looked up in the stored conversation (`history`); without one it is refused.
Each item is translated on its own: one that cannot be adds its problems and the rest goes on.
"""

from __future__ import annotations

import json
from typing import Any

from protoshift.translator.checks import check_json, want_list, want_object, want_str
from protoshift.translator.errors import TranslationError
from protoshift.translator.openai_to_anthropic.context import Context
from protoshift.translator.responses_to_chat.carry import decode_reasoning
from protoshift.translator.responses_to_chat.toolmap import ToolMap
from protoshift.translator.tables import (
    CHAT_IMAGE_DETAILS,
    CUSTOM_TOOL_ARGUMENT,
    DEFAULT_PDF_FILENAME,
    RESPONSES_DROPPED_ITEMS,
    RESPONSES_ITEM_KEYS,
    RESPONSES_PART_KEYS,
)

__all__ = ["NO_OUTPUT", "ItemConverter"]

NO_OUTPUT = "(no output: the call was not answered)"
_SYSTEM_ROLES = ("system", "developer")
_TEXT_PARTS = ("input_text", "output_text")
_BLOCKS_DEPTH = 3  # thinking_blocks in a chat body: body -> messages -> message -> thinking_blocks


class ItemConverter:
    """One request's items -> (the system message's text, the chat messages after it)."""

    __slots__ = (
        "_answered",
        "_attachments",
        "_began",
        "_blocks",
        "_deferred",
        "_details",
        "_pending",
        "_refs",
        "_signed",
        "_turn",
        "_turn_reasoning",
        "_turn_texts",
        "_waiting",
        "ctx",
        "messages",
        "system",
        "tools",
    )  # fmt: skip

    def __init__(self, ctx: Context, tools: ToolMap, *, signed_thinking: bool = False) -> None:
        self.ctx = ctx
        self.tools = tools
        self._signed = signed_thinking
        self.system: list[str] = []
        self.messages: list[dict[str, Any]] = []
        self._began = False  # a user, assistant or tool item came: a system message now is "in the middle"
        self._turn: dict[str, Any] | None = None  # the assistant turn being built
        self._turn_texts: list[str] = []
        self._turn_reasoning: list[str] = []
        self._blocks: list[dict[str, Any]] = []  # Claude's thinking for the next assistant turn, signed
        self._details: list[tuple[list[dict[str, Any]], str]] = []  # OpenRouter's, for it: (details, path)
        self._waiting: list[tuple[str, str]] = []  # (reasoning, path) waiting for the assistant turn it led to
        self._pending: dict[str, str] = {}  # call_id -> the call's path, while its output has not come
        self._answered: set[str] = set()
        self._deferred: list[dict[str, Any]] = []  # user messages that came while calls waited
        self._attachments: list[dict[str, Any]] = []  # images and files of tool outputs
        self._refs: dict[str, tuple[dict[str, Any], str]] | None = None

    def convert(
        self, instructions: str | None, history: list[Any] | None, items: list[tuple[Any, str]]
    ) -> tuple[str | None, list[dict[str, Any]]]:
        """`items`: (item, its path). Returns the system text (None: no system message) and the messages."""
        if instructions:
            self.system.append(instructions)
        if history is not None:
            self._refs = {}
            for k, item in enumerate(history):
                if isinstance(item, dict) and type(item.get("id")) is str:
                    self._refs.setdefault(item["id"], (item, f"history[{k}]"))
        for item, path in items:
            try:
                self._item(item, path)
            except TranslationError as exc:
                self.ctx.failed(exc)
        self._close_turn()
        self._flush_pending()
        for _, path in [*self._waiting, *self._details]:
            self.ctx.note(path, "dropped", "no assistant turn follows it to carry its reasoning")
        return ("\n\n".join(self.system) if self.system else None), self.messages

    # ---- items -------------------------------------------------------------------------------

    def _item(self, value: Any, path: str, *, referenced: bool = False) -> None:
        item = value if type(value) is dict else want_object(value, path)
        kind = item.get("type")
        if kind is None:  # EasyInputMessage and ItemReference may leave out their type
            kind = "message" if "role" in item else "item_reference" if "id" in item else None
        if not isinstance(kind, str):
            raise TranslationError(f"{path}.type", "expected the type of an input item")
        handler = _HANDLERS.get(kind)
        if handler is None:
            if kind not in RESPONSES_DROPPED_ITEMS:
                raise TranslationError(f"{path}.type", f"a {kind} item has no chat equivalent")
            self.ctx.note(path, "dropped", RESPONSES_DROPPED_ITEMS[kind])
            return
        known = RESPONSES_ITEM_KEYS[kind]
        if not known.issuperset(item):
            self.ctx.unknown_keys(item, known, path)
        if kind == "item_reference" and referenced:
            raise TranslationError(path, "an item_reference in the stored conversation names another one")
        handler(self, item, path)

    def _message(self, item: dict[str, Any], path: str) -> None:
        role = item.get("role")
        content = item.get("content")
        if type(content) is str and role in ("user", "assistant"):  # the common case, first
            self._began = True
            if role == "user":
                self._user({"role": "user", "content": content})
            else:
                self._open_turn()
                self._turn_texts.append(content)
            return
        cpath = f"{path}.content"
        if content is None:
            raise TranslationError(cpath, "is required")
        if role in _SYSTEM_ROLES:
            text = self._system_text(content, cpath)
            if self._began:
                self.ctx.note(
                    path,
                    "approximated",
                    f"a {role} message in the middle of the conversation: moved into the system message at the"
                    " start (chat templates refuse a system message that is not first)",
                )
            if text:
                self.system.append(text)
        elif role == "user":
            self._began = True
            self._user({"role": "user", "content": self._user_content(content, cpath)})
        elif role == "assistant":
            self._began = True
            self._assistant_content(content, cpath)
        else:
            want_str(role, f"{path}.role")
            raise TranslationError(
                f"{path}.role", f"unknown role {role!r} (expected user, assistant, system or developer)"
            )

    def _function_call(self, item: dict[str, Any], path: str) -> None:
        call_id, name, namespace = self._call_names(item, path)
        arguments = want_str(item.get("arguments"), f"{path}.arguments")
        self._add_call(call_id, self.tools.chat_name(name, namespace), arguments, path)

    def _custom_tool_call(self, item: dict[str, Any], path: str) -> None:
        call_id, name, namespace = self._call_names(item, path)
        text = want_str(item.get("input"), f"{path}.input")
        arguments = json.dumps({CUSTOM_TOOL_ARGUMENT: text}, ensure_ascii=False)
        self._add_call(call_id, self.tools.chat_name(name, namespace), arguments, path)

    def _call_names(self, item: dict[str, Any], path: str) -> tuple[str, str, str | None]:
        call_id = want_str(item.get("call_id"), f"{path}.call_id", nonempty=True)
        name = want_str(item.get("name"), f"{path}.name", nonempty=True)
        namespace = item.get("namespace")
        if namespace is not None:
            namespace = want_str(namespace, f"{path}.namespace", nonempty=True)
        self._caller(item, path)
        return call_id, name, namespace

    def _caller(self, item: dict[str, Any], path: str) -> None:
        caller = item.get("caller")
        if caller is not None and want_object(caller, f"{path}.caller").get("type") != "direct":
            self.ctx.note(f"{path}.caller", "dropped", "programmatic tool calling has no chat equivalent")

    def _add_call(self, call_id: str, chat_name: str, arguments: str, path: str) -> None:
        if call_id in self._pending or call_id in self._answered:
            raise TranslationError(f"{path}.call_id", f"a second call with the call_id {call_id!r}")
        self._began = True
        turn = self._open_turn()
        turn.setdefault("tool_calls", []).append(
            {"id": call_id, "type": "function", "function": {"name": chat_name, "arguments": arguments}}
        )
        self._pending[call_id] = path

    def _call_output(self, item: dict[str, Any], path: str) -> None:
        call_id = want_str(item.get("call_id"), f"{path}.call_id", nonempty=True)
        self._caller(item, path)
        output = item.get("output")
        if output is None:
            raise TranslationError(f"{path}.output", "is required")
        self._began = True
        self._close_turn()
        if call_id not in self._pending:
            if call_id in self._answered:
                raise TranslationError(f"{path}.call_id", f"a second output for the call {call_id!r}")
            raise TranslationError(
                f"{path}.call_id", f"no function_call or custom_tool_call with the call_id {call_id!r} comes before it"
            )
        del self._pending[call_id]
        self._answered.add(call_id)
        content = self._tool_content(output, f"{path}.output", call_id)
        self.messages.append({"role": "tool", "tool_call_id": call_id, "content": content})
        if not self._pending:
            self._after_tools()

    def _reasoning(self, item: dict[str, Any], path: str) -> None:
        text: str | None = None
        blob = item.get("encrypted_content")
        if blob is not None:
            carried = decode_reasoning(want_str(blob, f"{path}.encrypted_content"))
            text = carried.text if carried is not None else None
            if carried is not None and carried.thinking_blocks and self._signed:
                # Claude's signed thinking, handed back whole: JSON the client sent, checked as the rest (a
                # chat body's messages[k].thinking_blocks sit as deep: the next leg does not walk it again)
                check_json(carried.thinking_blocks, f"{path}.encrypted_content", _BLOCKS_DEPTH)
                self._blocks += carried.thinking_blocks
            if carried is not None and carried.details and not self._signed:
                # OpenRouter's reasoning_details, handed back whole (checked as Claude's blocks, as deep): they
                # hold the text, which is not sent twice
                check_json(carried.details, f"{path}.encrypted_content", _BLOCKS_DEPTH)
                self._details.append((carried.details, path))
                if (summary := item.get("summary")) is not None:
                    want_list(summary, f"{path}.summary")
                return
            if text is None:
                self.ctx.note(
                    f"{path}.encrypted_content", "dropped", "reasoning encrypted by OpenAI: only OpenAI can read it"
                )
        if text is None:
            text = self._texts(item.get("content"), f"{path}.content", "reasoning_text") or self._texts(
                item.get("summary"), f"{path}.summary", "summary_text"
            )
        elif (summary := item.get("summary")) is not None:
            want_list(summary, f"{path}.summary")
        if not text:
            return
        if self._turn is not None:
            self._turn_reasoning.append(text)
        else:
            self._waiting.append((text, path))

    def _reference(self, item: dict[str, Any], path: str) -> None:
        ref = want_str(item.get("id"), f"{path}.id", nonempty=True)
        if self._refs is None:
            raise TranslationError(
                path, "an item_reference needs the stored conversation (history), which was not given"
            )
        found = self._refs.get(ref)
        if found is None:
            raise TranslationError(f"{path}.id", f"no item {ref!r} in the stored conversation")
        self._item(found[0], found[1], referenced=True)

    # ---- turns -------------------------------------------------------------------------------

    def _open_turn(self) -> dict[str, Any]:
        if self._turn is None:
            if self._pending:  # a new model turn: the calls of the last one are over
                self._flush_pending()
            self._turn = {"role": "assistant", "content": None}
            self._turn_texts = []
            self._turn_reasoning = [text for text, _ in self._waiting]
            self._waiting = []
        return self._turn

    def _close_turn(self) -> None:
        turn = self._turn
        if turn is None:
            return
        self._turn = None
        if self._turn_texts:
            turn["content"] = "\n\n".join(self._turn_texts)
        if self._turn_reasoning:
            turn["reasoning_content"] = "\n\n".join(self._turn_reasoning)
        if self._blocks:
            turn["thinking_blocks"], self._blocks = self._blocks, []
        if self._details:
            turn["reasoning_details"] = [entry for details, _ in self._details for entry in details]
            self._details = []
        if turn["content"] is None and "tool_calls" not in turn and "refusal" not in turn:
            turn["content"] = ""
        self.messages.append(turn)

    def _user(self, message: dict[str, Any]) -> None:
        self._close_turn()
        for _, path in [*self._waiting, *self._details]:  # reasoning that led to no output: the user spoke next
            self.ctx.note(path, "dropped", "no assistant turn follows it to carry its reasoning")
        self._waiting = []
        self._details = []
        if self._pending:
            self._deferred.append(message)
        else:
            self.messages.append(message)

    def _flush_pending(self) -> None:
        """Calls with no output: chat needs a tool message for each, so one says so."""
        if not self._pending:
            return
        self._close_turn()
        for call_id, path in self._pending.items():
            self.messages.append({"role": "tool", "tool_call_id": call_id, "content": NO_OUTPUT})
            self._answered.add(call_id)
            self.ctx.note(
                path, "approximated", f"no output item answers this call: chat needs one, so {NO_OUTPUT!r} is sent"
            )
        self._pending.clear()
        self._after_tools()

    def _after_tools(self) -> None:
        """Every call answered: the images and files of their outputs, then the user messages that waited."""
        if self._attachments:
            self.messages.append({"role": "user", "content": self._attachments})
            self._attachments = []
        if self._deferred:
            self.messages.extend(self._deferred)
            self._deferred = []

    # ---- content -----------------------------------------------------------------------------

    def _system_text(self, content: Any, path: str) -> str:
        if isinstance(content, str):
            return content
        texts: list[str] = []
        for k, value in enumerate(want_list(content, path)):
            ppath = f"{path}[{k}]"
            part = want_object(value, ppath)
            kind = part.get("type")
            if kind not in _TEXT_PARTS:
                raise TranslationError(f"{ppath}.type", "a system or developer message takes text parts only")
            self._part_keys(part, kind, ppath)
            if part.get("prompt_cache_breakpoint") is not None:
                self.ctx.note(f"{ppath}.prompt_cache_breakpoint", "dropped", "the system message is sent as one text")
            texts.append(want_str(part.get("text"), f"{ppath}.text"))
        return "\n\n".join(text for text in texts if text)

    def _user_content(self, content: Any, path: str) -> str | list[dict[str, Any]]:
        if isinstance(content, str):
            return content
        parts = want_list(content, path)
        if not parts:
            raise TranslationError(path, "must not be empty")
        converted: list[dict[str, Any]] = []
        for k, value in enumerate(parts):
            ppath = f"{path}[{k}]"
            try:
                converted.append(self._user_part(want_object(value, ppath), ppath))
            except TranslationError as exc:
                self.ctx.failed(exc)
        return converted

    def _user_part(self, part: dict[str, Any], path: str) -> dict[str, Any]:
        kind = part.get("type")
        if kind in _TEXT_PARTS:
            self._part_keys(part, kind, path)
            chat: dict[str, Any] = {"type": "text", "text": want_str(part.get("text"), f"{path}.text")}
        elif kind == "input_image":
            self._part_keys(part, kind, path)
            chat = {"type": "image_url", "image_url": self._image(part, path)}
        elif kind == "input_file":
            self._part_keys(part, kind, path)
            chat = {"type": "file", "file": self._file(part, path)}
        else:
            raise TranslationError(f"{path}.type", f"expected input_text, input_image or input_file, got {kind!r}")
        breakpoint_ = part.get("prompt_cache_breakpoint")
        if breakpoint_ is not None:
            chat["prompt_cache_breakpoint"] = _breakpoint(breakpoint_, f"{path}.prompt_cache_breakpoint")
        return chat

    def _image(self, part: dict[str, Any], path: str) -> dict[str, Any]:
        url = part.get("image_url")
        file_id = part.get("file_id")
        if url is None:
            if file_id is not None:
                want_str(file_id, f"{path}.file_id")
                raise TranslationError(
                    f"{path}.file_id",
                    "a file stored at OpenAI, which a chat upstream cannot read: send the image as image_url"
                    " (a URL or a data URL)",
                )
            raise TranslationError(f"{path}.image_url", "is required (or file_id)")
        image: dict[str, Any] = {"url": want_str(url, f"{path}.image_url", nonempty=True)}
        if file_id is not None:
            self.ctx.note(f"{path}.file_id", "dropped", "image_url is sent")
        detail = part.get("detail")
        if detail is not None:
            detail = want_str(detail, f"{path}.detail")
            if detail in CHAT_IMAGE_DETAILS:
                image["detail"] = detail
            elif detail == "original":
                image["detail"] = "high"
                self.ctx.note(f"{path}.detail", "approximated", "chat has no 'original' detail: sent as 'high'")
            else:
                raise TranslationError(f"{path}.detail", "expected low, high, auto or original")
        return image

    def _file(self, part: dict[str, Any], path: str) -> dict[str, Any]:
        data = part.get("file_data")
        if data is None:
            if part.get("file_id") is not None:
                want_str(part["file_id"], f"{path}.file_id")
                raise TranslationError(
                    f"{path}.file_id", "a file stored at OpenAI, which a chat upstream cannot read: send file_data"
                )
            if part.get("file_url") is not None:
                want_str(part["file_url"], f"{path}.file_url")
                raise TranslationError(
                    f"{path}.file_url", "chat takes a file's content, not its URL: fetch it and send file_data"
                )
            raise TranslationError(f"{path}.file_data", "is required")
        chat: dict[str, Any] = {"file_data": want_str(data, f"{path}.file_data", nonempty=True)}
        for key in ("file_id", "file_url"):
            if part.get(key) is not None:
                self.ctx.note(f"{path}.{key}", "dropped", "file_data is sent")
        name = part.get("filename")
        if name is not None:
            chat["filename"] = want_str(name, f"{path}.filename")
        else:  # OpenAI wants a filename with file_data
            chat["filename"] = DEFAULT_PDF_FILENAME if chat["file_data"].startswith("data:application/pdf") else "file"
            self.ctx.note(
                f"{path}.filename", "defaulted", f"chat wants a filename with file_data: {chat['filename']!r}"
            )
        detail = part.get("detail")
        if detail is not None and want_str(detail, f"{path}.detail") != "auto":
            self.ctx.note(f"{path}.detail", "dropped", "chat file parts take no detail")
        return chat

    def _assistant_content(self, content: Any, path: str) -> None:
        if isinstance(content, str):
            self._open_turn()
            self._turn_texts.append(content)
            return
        texts: list[str] = []
        refusals: list[str] = []
        for k, value in enumerate(want_list(content, path)):
            ppath = f"{path}[{k}]"
            part = want_object(value, ppath)
            kind = part.get("type")
            if kind in _TEXT_PARTS:
                self._part_keys(part, kind, ppath)
                texts.append(want_str(part.get("text"), f"{ppath}.text"))
                for key in ("annotations", "logprobs"):
                    if part.get(key):
                        want_list(part[key], f"{ppath}.{key}")
                        self.ctx.note(f"{ppath}.{key}", "dropped", "a chat history carries the text only")
            elif kind == "refusal":
                self._part_keys(part, kind, ppath)
                refusals.append(want_str(part.get("refusal"), f"{ppath}.refusal"))
            else:
                raise TranslationError(f"{ppath}.type", f"expected output_text or refusal, got {kind!r}")
        turn = self._open_turn()
        if texts:
            self._turn_texts.append("".join(texts))
        if refusals:
            turn["refusal"] = (turn.get("refusal") or "") + "".join(refusals)

    def _tool_content(self, output: Any, path: str, call_id: str) -> str | list[dict[str, Any]]:
        if isinstance(output, str):
            return output
        parts: list[dict[str, Any]] = []
        moved = 0
        for k, value in enumerate(want_list(output, path)):
            ppath = f"{path}[{k}]"
            part = want_object(value, ppath)
            converted = self._user_part(part, ppath)
            if converted["type"] == "text":
                parts.append(converted)
                continue
            if not self._attachments:
                self._attachments.append(
                    {"type": "text", "text": f"(what the tool call {call_id} returned besides text)"}
                )
            self._attachments.append(converted)
            moved += 1
            self.ctx.note(
                ppath,
                "approximated",
                "a chat tool message carries text only: sent in a user message after the tool messages",
            )
        if any("prompt_cache_breakpoint" in part for part in parts):
            return parts
        text = "\n".join(part["text"] for part in parts)
        if not text and moved:
            return f"(the output is in the next user message: {moved} part{'s' if moved > 1 else ''})"
        return text

    def _texts(self, value: Any, path: str, kind: str) -> str:
        if value is None:
            return ""
        texts = []
        for k, entry in enumerate(want_list(value, path)):
            ppath = f"{path}[{k}]"
            part = want_object(entry, ppath)
            if part.get("type") != kind:
                raise TranslationError(f"{ppath}.type", f"expected {kind!r}")
            self._part_keys(part, kind, ppath)
            texts.append(want_str(part.get("text"), f"{ppath}.text"))
        return "\n\n".join(text for text in texts if text)

    def _part_keys(self, part: dict[str, Any], kind: str, path: str) -> None:
        known = RESPONSES_PART_KEYS[kind]
        if not known.issuperset(part):
            self.ctx.unknown_keys(part, known, path)


def _breakpoint(value: Any, path: str) -> dict[str, Any]:
    mark = want_object(value, path)
    if mark.get("mode") != "explicit" or len(mark) != 1:
        raise TranslationError(path, 'expected {"mode": "explicit"}')
    return {"mode": "explicit"}


_HANDLERS = {
    "message": ItemConverter._message,
    "function_call": ItemConverter._function_call,
    "custom_tool_call": ItemConverter._custom_tool_call,
    "function_call_output": ItemConverter._call_output,
    "custom_tool_call_output": ItemConverter._call_output,
    "reasoning": ItemConverter._reasoning,
    "item_reference": ItemConverter._reference,
}
