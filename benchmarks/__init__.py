"""Speed figures for protoshift, side by side with LiteLLM's Anthropic transformation.

Run with `uv run --group bench python -m benchmarks` (LiteLLM included) or
`uv run python -m benchmarks` (protoshift only). See benchmarks/README.md.
"""
