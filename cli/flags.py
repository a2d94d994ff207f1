"""What the command line said, one typed object per group of options that many commands share.

`cli/options.py` declares the options and hands each command its object; `cli/settings.py` merges
`ProviderFlags` with the environment and the config file. A field's default here is the option's
default (nothing given), read by the declaration: it is written nowhere else.

Light (the standard library only): the CLI reads these at start-up, and serve's workers without typer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from protoshift.cli.io.console import Diagnostics

__all__ = ["ProviderFlags", "Verbosity"]


@dataclass(frozen=True, slots=True)
class ProviderFlags:
    """The provider options as given: None (or False) where not given, so that the environment, then
    the config file, then the defaults decide (`cli.settings.resolve_settings`)."""

    backend: str | None = None  # --backend/-b NAME
    model: str | None = None  # --model/-m
    max_tokens: int | None = None  # --max-tokens (chat)
    base_url: str | None = None  # --base-url: the primary backend's
    fallbacks: tuple[str, ...] = ()  # --fallback BACKEND[:MODEL], each as given (commas split later)
    timeout: float | None = None  # --timeout
    idle_timeout: float | None = None  # --idle-timeout
    max_retries: int | None = None  # --max-retries
    no_breaker: bool = False  # --no-breaker
    allow_insecure: bool = False  # --allow-insecure


@dataclass(frozen=True, slots=True)
class Verbosity:
    """-v and -q: how much a command says on stderr."""

    verbose: bool = False  # --verbose/-v
    quiet: bool = False  # --quiet/-q

    def diagnostics(self) -> Diagnostics:
        """The command's stderr; -q with -v is bad usage (InputError, exit 2)."""
        from protoshift.cli.io.console import Diagnostics

        return Diagnostics.checked(quiet=self.quiet, verbose=self.verbose)
