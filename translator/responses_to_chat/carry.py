"""What a reasoning item carries to the next turn: the model's own reasoning, for chat upstreams that
return it (`reasoning_content`: DeepSeek, Qwen, vLLM's reasoning parsers) and want it back with the
assistant turn it led to.

`chat_to_responses` puts it in the reasoning item's `encrypted_content` (when the request's `include`
asks for it, as Codex's does) as `protoshift.rc1.` + the text in unpadded URL-safe base64;
`responses_to_chat` reads it back. No key and no state: any replica reads what any other wrote. It is
opaque to clients the way OpenAI's is (they send it back, they do not read it), not secret: it holds
what the same response showed as its summary.
"""

from __future__ import annotations

import base64
import binascii

__all__ = ["PREFIX", "decode_reasoning", "encode_reasoning"]

PREFIX = "protoshift.rc1."


def encode_reasoning(text: str) -> str:
    """The `encrypted_content` that carries `text`."""
    return PREFIX + base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def decode_reasoning(blob: str) -> str | None:
    """The text `encode_reasoning` put in `blob`; None for anything else (OpenAI's own, or damaged)."""
    if not blob.startswith(PREFIX):
        return None
    data = blob[len(PREFIX) :]
    try:
        return base64.b64decode(data + "=" * (-len(data) % 4), altchars=b"-_", validate=True).decode()
    except (binascii.Error, ValueError):  # UnicodeDecodeError is a ValueError
        return None
