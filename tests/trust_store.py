"""The tests' processes trust no certificate authority: every client the suite makes speaks plain http to
a server on 127.0.0.1, yet each still loads a trust store when it is made. httpx (and both SDKs over it)
parses the ~140 CAs of a bundle, ~25 ms of CPU, and the default run makes some 500 clients: 14 s of its CPU.
Pointed at an empty folder (`SSL_CERT_DIR`, which httpx and OpenSSL read), a client loads nothing, and an
https request to a real server would fail verification.

Set by tests/conftest.py before pytest-xdist starts its workers, so they and the processes the tests start
inherit it (a CA bundle the environment names, `SSL_CERT_FILE`, which httpx reads first, is set aside). A tool
that may need the internet (uv, npm) runs with `real_environment()`.
"""

from __future__ import annotations

import atexit
import json
import os
import shutil
import tempfile

_PREFIX = "protoshift-tests-no-ca-"
_SAVED = "PROTOSHIFT_TESTS_TLS_ENV"  # the environment's own SSL_CERT_FILE and SSL_CERT_DIR, as JSON
_KEYS = ("SSL_CERT_FILE", "SSL_CERT_DIR")


def trust_nothing() -> None:
    """Once per session (the workers inherit the controller's folder); removed when the session ends."""
    if _SAVED in os.environ:
        return
    os.environ[_SAVED] = json.dumps({key: os.environ.pop(key) for key in _KEYS if key in os.environ})
    folder = tempfile.mkdtemp(prefix=_PREFIX)
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    os.environ["SSL_CERT_DIR"] = folder


def real_environment() -> dict[str, str]:
    """os.environ with the environment's own trust store."""
    env = dict(os.environ)
    saved = env.pop(_SAVED, None)
    if saved is not None:
        env.pop("SSL_CERT_DIR", None)
        env.update(json.loads(saved))
    return env
