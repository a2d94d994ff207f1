"""protoshift: OpenAI Chat Completions in, Anthropic Messages (or any OpenAI-compatible endpoint) out.

The code lives in three rooms at the top of the repository, installed under this package:

- `protoshift.translator`: pure protocol translation, both directions (no I/O);
- `protoshift.cloud`: talking to providers over HTTP (backends, retries, breaker, fallback);
- `protoshift.cli`: the `protoshift` command.

Imports flow one way: cli -> cloud -> translator. See docs/ARCHITECTURE.md.
"""

__version__ = "0.2.0"  # the one place: pyproject.toml reads it (importlib.metadata costs 10 ms at start-up)

__all__ = ["__version__"]
