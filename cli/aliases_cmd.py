"""`protoshift aliases` (list), `aliases set NAME MODEL`, `aliases remove NAME`: the `[aliases]` table
of the config file (cloud.aliases), read and edited in place (cli.config_edit)."""

from __future__ import annotations

from protoshift.cli.exits import InputError
from protoshift.cli.io.console import Diagnostics
from protoshift.cloud.aliases import Aliases, parse_target


def run_list_aliases(json_lines: bool) -> int:
    """`protoshift aliases`: NAME -> MODEL, one a line (JSON lines with --json)."""
    from protoshift.cli.io.console import Diagnostics
    from protoshift.cli.io.output import json_line, write_stdout
    from protoshift.cli.settings import config_path, load_config_file

    diag = Diagnostics()
    path = config_path()
    aliases = Aliases.from_config(load_config_file(path, warn=diag.warn), str(path))
    for name, target in aliases.names():
        if json_lines:
            write_stdout(json_line({"alias": name, "model": target.model, "backend": target.backend}))
        else:
            write_stdout(f"{name} -> {target}\n".encode())
    if not aliases:
        diag.warn(f"no aliases in {path} (protoshift aliases set NAME MODEL adds one)")
    return 0


def run_set_alias(name: str, model: str, diag: Diagnostics) -> int:
    from protoshift.cli.config_edit import set_entry
    from protoshift.cli.settings import config_path

    if not name.strip() or not model.strip():
        raise InputError("an alias and its model cannot be empty")
    path = config_path()
    set_entry(path, "aliases", name, model)
    diag.warn(f"{name} -> {parse_target(model)} (in {path})")
    return 0


def run_remove_alias(name: str, diag: Diagnostics) -> int:
    from protoshift.cli.config_edit import set_entry
    from protoshift.cli.settings import config_path

    path = config_path()
    if not set_entry(path, "aliases", name, None):
        raise InputError(f"no alias {name!r} in {path}", hint="protoshift aliases lists them")
    diag.warn(f"{name} removed (from {path})")
    return 0
