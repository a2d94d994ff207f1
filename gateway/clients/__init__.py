"""Client keys: the gateway's own keys for the people and programs that call it (not the provider's
key, which stays in protoshift), each with its own limits — requests and tokens per minute, a budget
per day or month, the models it may use — and its usage counted.

- `records.py`: a key as stored (its name, the SHA-256 of its secret, its limits), new secrets, the
  periods a budget and usage are counted in;
- `limiter.py`: the limits' arithmetic (GCRA for requests, a token bucket for tokens) on this
  process's clock — the local limiter — and what a decision tells the client (`RateState`);
- `sqlite.py`: the keys and their usage in a SQLite file under the data folder, shared by the workers
  of one machine (no `--state`);
- `gate.py`: `ClientKeys`, what the gateway asks: who a key is, whether a request may go (its model,
  its limits), what it used once answered; the store it reads, and where the limits are counted
  (the shared Redis with `--state`: gateway/state/keys.py; else this process).
"""
