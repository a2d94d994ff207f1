"""`protoshift serve`: the gateway (protoshift.gateway) on uvicorn, from the command line's flags and
config. Imported only by `serve`: the server stack costs nothing to the other commands.

- `command.py`: `run_serve` — checks, the gateway built from the settings, uvicorn run (one process,
  or N workers that each build their own).
"""
