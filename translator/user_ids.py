"""The end-user ids a request carries (`user`, `safety_identifier`, `metadata.user_id`), as the provider
on the other side takes them: an opaque id passes as it is; one that looks like personal data (an
e-mail address, a phone number, anything with spaces), or is longer than the provider takes, goes as its
hash — stable (the same user, the same id, for abuse monitoring and caching), and short enough anywhere
(`sha256:` + 32 hex digits: 39 characters; OpenAI takes 64, Anthropic 256).
"""

from __future__ import annotations

import hashlib
import re

from protoshift.translator.tables import MAX_USER_ID

__all__ = ["HASH_PREFIX", "hashed", "looks_personal", "needs_hashing"]

HASH_PREFIX = "sha256:"
_OPAQUE = re.compile(rf"[A-Za-z0-9_.:-]{{1,{MAX_USER_ID}}}")
_PHONE = re.compile(r"\+?[\d\s().-]{7,}")


def looks_personal(user_id: str) -> bool:
    """An e-mail address, a phone number, anything with spaces, or too long for an opaque id."""
    if _OPAQUE.fullmatch(user_id) is None:  # "@", spaces, other punctuation, or too long
        return True
    return _PHONE.fullmatch(user_id) is not None and 7 <= sum(c.isdigit() for c in user_id) <= 15


def needs_hashing(user_id: str, limit: int = MAX_USER_ID) -> bool:
    return len(user_id) > limit or looks_personal(user_id)


def hashed(user_id: str) -> str:
    return HASH_PREFIX + hashlib.sha256(user_id.encode()).hexdigest()[:32]
