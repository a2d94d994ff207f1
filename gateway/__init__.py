"""protoshift's gateway: an ASGI application that speaks the LLM APIs (OpenAI Chat Completions,
Anthropic Messages) to its clients and carries each request to a backend through protoshift.cloud.

It imports nothing of protoshift.cli: a Python program can build it from a plain config object and
mount it in its own ASGI server; `protoshift serve` only parses flags and config, builds it and runs it.
"""
