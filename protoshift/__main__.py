"""`python -m protoshift`: the same as the `protoshift` command."""

from protoshift.cli.main import run

run()
