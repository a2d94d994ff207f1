"""`protoshift serve`: the same translator and cloud client, opened to programs over HTTP.

An ASGI application (`app.Gateway`) on uvicorn (uvloop + httptools). It parses, calls a backend
chain, and writes the answer in the protocol the client speaks; everything in between (translation,
retries, breaker, fallback) is the code `chat` and `batch` use. Imported only by `serve`: the server
stack costs nothing to the other commands.

- `command.py`: `run_serve` — checks, then runs uvicorn (one process, or N workers).
- `app.py`: the ASGI app: routing, lifespan (one backend chain per backend kind, per worker).
- `asgi.py`: the few ASGI primitives it needs (bodies with limits, JSON and SSE responses, disconnects).
- `openai_routes.py`: `POST /v1/chat/completions`, `GET /v1/models`.
- `anthropic_routes.py`: `POST /v1/messages` (JSON and SSE), `POST /v1/messages/count_tokens`, and
  `GET /v1/models` in Anthropic's shape when asked with `anthropic-version`.
- `errors.py`: the one table from failures to HTTP statuses and OpenAI's error shape;
  `anthropic_errors.py`: the same failures in Anthropic's shape.
- `auth.py`, `limits.py`, `metrics.py`, `log.py`: keys, limits, Prometheus metrics, request log lines.
"""
