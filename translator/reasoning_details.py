"""OpenRouter's `reasoning_details` carried through an Anthropic or Responses client and given back verbatim.

OpenRouter answers with `message.reasoning_details` (streamed as `delta.reasoning_details`): a list of
`{"type": "reasoning.text", "text", "signature"?}`, `{"type": "reasoning.summary", "summary"}` and
`{"type": "reasoning.encrypted", "data"}`, each with `id`, `format` and `index`. It wants the list back,
unchanged, on the assistant message of the next turn, or the model loses its reasoning chain (Claude and
Gemini behind it refuse a tool loop whose signed or encrypted reasoning is missing).

An Anthropic client hands back a thinking block's `signature` byte for byte (it is opaque to it), so the
list travels there: `protoshift.rd1.` + the list as JSON in unpadded URL-safe base64 (carry.py's way for
the Responses surface). No key and no state: any replica reads what any other wrote. The block's
`thinking` is the list's readable text. A Responses client gets the same string in the reasoning item's
`encrypted_content` (responses_to_chat/carry.py).
"""

from __future__ import annotations

from typing import Any

from protoshift.translator.opaque import b64, unb64

PREFIX = "protoshift.rd1."
_GROWING = ("text", "summary", "data", "signature")  # streamed in pieces: the pieces are joined


def details(value: Any) -> list[dict[str, Any]] | None:
    """`value` as a reasoning_details list (every entry an object with a `type`), or None."""
    if isinstance(value, list) and value and all(isinstance(d, dict) and isinstance(d.get("type"), str) for d in value):
        return value
    return None


def readable(entries: list[dict[str, Any]]) -> str:
    """What a person can read of the list: the texts and summaries (encrypted entries have none)."""
    return "".join(str(d.get("text") or d.get("summary") or "") for d in entries)


def merge(into: list[dict[str, Any]], pieces: list[dict[str, Any]]) -> str:
    """Streamed entries joined into whole ones: a piece with the `index` (and `type`) of an entry already
    there extends it (its text, summary, data and signature added, any other field set), else it is a new
    entry. Returns the readable text the pieces added."""
    added = []
    for piece in pieces:
        index = piece.get("index")
        entry = next(
            (e for e in into if index is not None and e.get("index") == index and e.get("type") == piece.get("type")),
            None,
        )
        if entry is None:
            into.append(dict(piece))
        else:
            for key, value in piece.items():
                if key in _GROWING and isinstance(value, str) and isinstance(entry.get(key), str):
                    entry[key] += value
                elif value is not None:
                    entry[key] = value
        added.append(str(piece.get("text") or piece.get("summary") or ""))
    return "".join(added)


def encode(entries: list[dict[str, Any]]) -> str:
    """The thinking block's `signature` that carries `entries`."""
    from pydantic_core import to_json  # on first use: start-up time

    return PREFIX + b64(to_json(entries))


def decode(signature: Any) -> list[dict[str, Any]] | None:
    """What `encode` put in a signature; None for anything else (Claude's own, empty, damaged)."""
    if not isinstance(signature, str) or not signature.startswith(PREFIX):
        return None
    data = unb64(signature[len(PREFIX) :])
    if data is None:
        return None
    from pydantic_core import from_json

    try:
        return details(from_json(data))
    except ValueError:
        return None
