"""What a reasoning item carries to the next turn: the model's own reasoning, for chat upstreams that
return it (`reasoning_content`: DeepSeek, Qwen, vLLM's reasoning parsers) and want it back with the
assistant turn it led to.

`chat_to_responses` puts it in the reasoning item's `encrypted_content` (when the request's `include`
asks for it, as Codex's does) as `protoshift.rc1.` + the text in unpadded URL-safe base64;
`responses_to_chat` reads it back. No key and no state: any replica reads what any other wrote. It is
opaque to clients the way OpenAI's is (they send it back, they do not read it), not secret: it holds
what the same response showed as its summary.

Claude's thinking (through the chat bridge to Anthropic, where it travels as `thinking_blocks`, with
their signatures) is carried whole: `protoshift.tb1.` + the blocks as JSON, the same way. Anthropic
refuses a turn after tool calls whose thinking comes back without its signature. OpenRouter's
`reasoning_details` are carried whole too, as the Anthropic surface carries them (reasoning_details.py,
`protoshift.rd1.`): OpenRouter wants them back verbatim.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from protoshift.translator import reasoning_details
from protoshift.translator.opaque import b64, unb64

__all__ = ["PREFIX", "Carried", "decode_reasoning", "encode_reasoning", "thinking_blocks"]

PREFIX = "protoshift.rc1."
BLOCKS_PREFIX = "protoshift.tb1."


class Carried(NamedTuple):
    text: str
    thinking_blocks: list[dict[str, Any]] | None  # Claude's, signed; None for a chat model's text
    details: list[dict[str, Any]] | None = None  # OpenRouter's reasoning_details, to give back verbatim


def encode_reasoning(
    text: str, thinking_blocks: list[dict[str, Any]] | None = None, details: list[dict[str, Any]] | None = None
) -> str:
    """The `encrypted_content` that carries `text` (or Claude's signed `thinking_blocks`, or OpenRouter's
    reasoning `details`, which hold it)."""
    if details:
        return reasoning_details.encode(details)
    if thinking_blocks:
        from pydantic_core import to_json  # on first use: start-up time

        return BLOCKS_PREFIX + b64(to_json(thinking_blocks))
    return PREFIX + b64(text.encode())


def decode_reasoning(blob: str) -> Carried | None:
    """What `encode_reasoning` put in `blob`; None for anything else (OpenAI's own, or damaged)."""
    if blob.startswith(reasoning_details.PREFIX):
        details = reasoning_details.decode(blob)
        return Carried(reasoning_details.readable(details), None, details) if details is not None else None
    if blob.startswith(BLOCKS_PREFIX):
        from pydantic_core import from_json

        data = unb64(blob[len(BLOCKS_PREFIX) :])
        try:
            blocks = from_json(data) if data is not None else None
        except ValueError:
            return None
        if not isinstance(blocks, list) or not all(isinstance(b, dict) for b in blocks):
            return None
        text = "".join(str(b.get("thinking") or "") for b in blocks)
        return Carried(text, blocks)
    if blob.startswith(PREFIX):
        data = unb64(blob[len(PREFIX) :])
        try:
            return Carried(data.decode(), None) if data is not None else None
        except UnicodeDecodeError:
            return None
    return None


def thinking_blocks(value: Any) -> list[dict[str, Any]] | None:
    """A chat message's (or delta's) `thinking_blocks` (Claude's, through the chat bridge), when it has
    them: a list of thinking or redacted_thinking blocks."""
    if isinstance(value, list) and value and all(isinstance(b, dict) and b.get("type") for b in value):
        return value
    return None
