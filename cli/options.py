"""The options many commands share, declared once, in groups (the habit of simonw/llm's shared option
decorators, made for typer).

A group is a frozen dataclass of `cli/flags.py` and one typer option per field, whose default is the
field's. A command takes the options of the group it has (a subset, by field name) and receives one
object, built once when it runs:

    @app.command("models")
    @PROVIDER.take("backend", "base_url", "timeout", "max_retries", "allow_insecure")
    @VERBOSITY.take("verbose", "quiet")
    def models_command(json_lines: Json = False, *, provider: ProviderFlags, verbosity: Verbosity) -> None:

typer reads a command's options from its signature, so `take` gives the command a new one: its own
parameters, then the group's options where the group's parameter (`provider`) was. When the command
runs, it gathers those options into a `ProviderFlags` and calls the command with it.

A default the help states is typer's `show_default`, made from the constant the code uses; no help
text here writes one by hand. typer shows it as `[default: (...)]`, click's way of saying the value is
described rather than the option's own: the environment and the config file come before it
(cli/settings.py), so an option not given is None here.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from copy import copy
from dataclasses import dataclass, fields, replace
from typing import TYPE_CHECKING, Annotated, Any, Generic, TypeVar

import typer
from typer.models import OptionInfo

from protoshift.cli.flags import ProviderFlags, Verbosity
from protoshift.cloud.backend import DEFAULT_IDLE_TIMEOUT, DEFAULT_TIMEOUT
from protoshift.cloud.kinds import BACKEND_NAMES, DEFAULT_BACKEND
from protoshift.cloud.retry import DEFAULT_MAX_RETRIES

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

__all__ = ["PROVIDER", "VERBOSITY", "Flag", "NoStdin", "OptionGroup"]

Group = TypeVar("Group", bound="DataclassInstance")
Command = Callable[..., None]


@dataclass(frozen=True, slots=True)
class Flag:
    """One option of a group: the type typer parses it as, and its declaration."""

    type: Any
    option: OptionInfo


class OptionGroup(Generic[Group]):
    """Options declared once for many commands, handed to each as one `Group` in `parameter`."""

    def __init__(self, target: type[Group], parameter: str, flags: Mapping[str, Flag]) -> None:
        self.target = target
        self.parameter = parameter
        self._defaults = {field.name: field.default for field in fields(target)}
        if set(flags) != set(self._defaults):
            raise TypeError(f"{target.__name__}: one option per field ({sorted(set(flags) ^ set(self._defaults))})")
        self._flags = flags

    def option(self, name: str) -> OptionInfo:
        """The declaration of one option, for a command that takes it outside the group."""
        return copy(self._flags[name].option)

    def take(
        self, *names: str, base: Group | None = None, help: Mapping[str, str] | None = None
    ) -> Callable[[Command], Command]:
        """The options `names` on a command, gathered into one `Group`. `base`: the values of the
        fields the command does not take, when they are not the defaults; `help`: a field's help where
        the command means something narrower by it."""
        unknown = [name for name in [*names, *(help or {})] if name not in self._flags]
        if unknown:
            raise TypeError(f"{self.target.__name__} has no option {', '.join(unknown)}")
        parameters = [self._parameter(name, (help or {}).get(name)) for name in names]
        sequences = {name for name in names if isinstance(self._defaults[name], tuple)}

        def decorate(command: Command) -> Command:
            signature = inspect.signature(command, eval_str=True)
            own = signature.parameters
            slot = own.get(self.parameter)
            if slot is None or slot.kind is not inspect.Parameter.KEYWORD_ONLY:
                raise TypeError(f"{command.__name__} needs a keyword-only parameter {self.parameter!r}")
            clash = own.keys() & set(names)
            if clash:
                raise TypeError(f"{command.__name__}: {', '.join(sorted(clash))} given twice")
            merged = [new for p in own.values() for new in (parameters if p.name == self.parameter else [p])]

            def run(**given: Any) -> None:
                values = {name: given.pop(name) for name in names}
                for name in sequences:  # typer gives a repeatable option as a list; the object is frozen
                    values[name] = tuple(values[name] or ())
                made = replace(base, **values) if base is not None else self.target(**values)
                command(**given, **{self.parameter: made})

            run.__name__, run.__qualname__ = command.__name__, command.__qualname__
            run.__module__, run.__doc__ = command.__module__, command.__doc__
            # typer reads these two: the signature (already evaluated), and the annotations it resolves
            setattr(run, "__signature__", signature.replace(parameters=merged))  # noqa: B010
            run.__annotations__ = {p.name: p.annotation for p in merged} | {"return": signature.return_annotation}
            return run

        return decorate

    def _parameter(self, name: str, help: str | None) -> inspect.Parameter:
        flag = self._flags[name]
        option = copy(flag.option)
        if help is not None:
            option.help = help
        return inspect.Parameter(
            name, inspect.Parameter.KEYWORD_ONLY, default=self._defaults[name], annotation=Annotated[flag.type, option]
        )


PROVIDER = OptionGroup(
    ProviderFlags,
    "provider",
    {
        "backend": Flag(
            str | None,
            typer.Option(
                "--backend",
                "-b",
                metavar="BACKEND",
                help=f"{', '.join(BACKEND_NAMES[:-1])} or {BACKEND_NAMES[-1]} (BACKEND:MODEL names the model too).",
                show_default=DEFAULT_BACKEND,
            ),
        ),
        "model": Flag(
            str | None,
            typer.Option("--model", "-m", metavar="MODEL", help="Model to ask (overrides the request's; or an alias)."),
        ),
        "max_tokens": Flag(
            int | None, typer.Option("--max-tokens", metavar="N", min=1, help="Answer length limit, in tokens.")
        ),
        "base_url": Flag(str | None, typer.Option("--base-url", metavar="URL", help="The primary backend's base URL.")),
        "fallbacks": Flag(
            list[str],
            typer.Option(
                "--fallback",
                metavar="BACKEND[:MODEL]",
                help="A backend to try when the one before fails (repeatable, or a,b).",
            ),
        ),
        "timeout": Flag(
            float | None,
            typer.Option(
                "--timeout",
                metavar="SECONDS",
                help="Seconds one attempt may take, start to end, like curl's --max-time.",
                show_default=f"{DEFAULT_TIMEOUT:g} for an answer, none for a stream",
            ),
        ),
        "idle_timeout": Flag(
            float | None,
            typer.Option(
                "--idle-timeout",
                metavar="SECONDS",
                help="Seconds a stream may go without content; pings do not count.",
                show_default=f"{DEFAULT_IDLE_TIMEOUT:g}",
            ),
        ),
        "max_retries": Flag(
            int | None,
            typer.Option(
                "--max-retries", metavar="N", min=0, help="Retries on failure.", show_default=str(DEFAULT_MAX_RETRIES)
            ),
        ),
        "no_breaker": Flag(bool, typer.Option("--no-breaker", help="Turn the circuit breaker off.")),
        "allow_insecure": Flag(
            bool, typer.Option("--allow-insecure", help="Allow a key over plain http:// to a remote host.")
        ),
    },
)

VERBOSITY = OptionGroup(
    Verbosity,
    "verbosity",
    {
        "verbose": Flag(
            bool,
            typer.Option(
                "--verbose",
                "-v",
                help="Show each HTTP request (method, URL, headers) and response (status, time); keys hidden.",
            ),
        ),
        "quiet": Flag(bool, typer.Option("--quiet", "-q", help="No notes on stderr, errors only.")),
    },
)


def _leave_stdin(value: bool) -> bool:
    if value:
        from protoshift.cli.io.inputs import detach_stdin

        detach_stdin()  # at parse time: whatever the command reads afterwards, stdin is /dev/null
    return value


# --no-stdin, for every command that may read stdin. No short form: ssh's -n is taken (-n is a count
# in `logs` and `batch list`, as in git log and head), and a letter of our own would be learned nowhere.
NoStdin = Annotated[
    bool,
    typer.Option(
        "--no-stdin",
        help="Read nothing from stdin, as if it were /dev/null (like ssh -n): for a command inside a shell loop"
        " that reads a file.",
        callback=_leave_stdin,
    ),
]
