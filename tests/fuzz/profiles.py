"""How many inputs the fuzz suite tries: `HYPOTHESIS_PROFILE=ci` (the default: a small budget, for every test run)
or `HYPOTHESIS_PROFILE=long` (the benchmarks machine: thousands through the Python API, hundreds through the CLI).

    HYPOTHESIS_PROFILE=long uv run pytest tests/fuzz -q

The CLI tests run the real `protoshift` per input, so they take a thirtieth of the API tests' count; the gateway's
(tests/fuzz/test_fuzz_serve.py, in-process) take the API tests' count, twice it in the long run (20,000+ requests)."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci", max_examples=150, deadline=None, suppress_health_check=list(HealthCheck), print_blob=True
)
settings.register_profile(
    "long", max_examples=5000, deadline=None, suppress_health_check=list(HealthCheck), print_blob=True
)

PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "ci")
API = settings(settings.get_profile(PROFILE if PROFILE in ("ci", "long") else "ci"))
CLI = settings(API, max_examples=max(5, API.max_examples // 30))
SERVE = settings(API, max_examples=API.max_examples * (2 if PROFILE == "long" else 1))
