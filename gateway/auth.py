"""Who may use the gateway: with server keys set, a request must carry one of them as a bearer
token (`Authorization: Bearer KEY`, as the OpenAI SDK sends it) or as `x-api-key` (the Anthropic
SDK's way), compared in constant time. These are the gateway's own keys: the provider's key stays
in protoshift and goes to the provider only."""

from __future__ import annotations

import hmac
from collections.abc import Sequence

from protoshift.gateway.asgi import Scope, header


class ServerKeys:
    def __init__(self, keys: Sequence[str]) -> None:
        self._keys = [key.encode() for key in keys if key]

    def __bool__(self) -> bool:
        return bool(self._keys)

    def allows(self, scope: Scope) -> bool:
        if not self._keys:
            return True
        token = _presented(scope)
        if token is None:
            return False
        matched = False
        for key in self._keys:  # every key compared, whichever matches: no timing hint of which
            matched |= hmac.compare_digest(token, key)
        return matched


def _presented(scope: Scope) -> bytes | None:
    authorization = header(scope, b"authorization")
    if authorization is not None:
        scheme, _, token = authorization.partition(b" ")
        return token.strip() if scheme.lower() == b"bearer" else None
    return header(scope, b"x-api-key")
