"""What protoshift carries in a field a client hands back unread (a reasoning item's `encrypted_content`,
a thinking block's `signature`): bytes in unpadded URL-safe base64, behind a prefix saying what they are."""

from __future__ import annotations

import base64
import binascii


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def unb64(data: str) -> bytes | None:
    """The bytes `b64` wrote; None for anything that is not such text (damaged, or someone else's)."""
    try:
        return base64.b64decode(data + "=" * (-len(data) % 4), altchars=b"-_", validate=True)
    except (binascii.Error, ValueError):
        return None
