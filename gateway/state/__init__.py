"""What several replicas of one gateway share through Redis (or Valkey), when `serve --state URL` says so:
the connection, every call bounded, and the policy when it does not answer (`connection.py`); stored
responses (`responses.py`); client keys and their limits (`keys.py`); each backend's circuit breakers
(`breaker.py`). Without `--state`, each process keeps its own (gateway/store.py, the breaker's state file):
nothing here is imported."""
