"""`python -m protoshift`: the same as the `protoshift` command."""

from protoshift.cli.runner import run

run()
