"""Settings: flags > environment > config file > defaults, each resolved in one place.

The config file is TOML at `$PROTOSHIFT_CONFIG`, else `$XDG_CONFIG_HOME/protoshift/config.toml`
(`~/.config/protoshift/config.toml`):

    backend = "anthropic"          # anthropic | openai | mock
    model = "claude-sonnet-5-5"
    max_tokens = 4096
    timeout = 120                  # seconds one attempt may take, start to end [600 for an answer, none for a stream]
    idle_timeout = 600             # seconds a stream may go without content (pings do not count)
    max_event_size = 16777216      # bytes of one SSE event (or PROTOSHIFT_MAX_EVENT_SIZE=16MiB)
    max_retries = 2
    breaker = true
    breaker_cooldown = 30          # seconds an open circuit fails fast before one probe (or PROTOSHIFT_BREAKER_COOLDOWN)
    fallback = ["openai:gpt-4o-mini"]
    log = true                     # keep every chat exchange in the log (`protoshift logs`; --no-log for one run)
    markdown = true                # render answers as markdown on a terminal (--raw, /markdown off)

    [anthropic]
    api_key_cmd = "pass show anthropic/api-key"   # or api_key = "..."
    base_url = "https://api.anthropic.com"

    [openai]
    base_url = "http://127.0.0.1:11434/v1"       # Ollama: no key needed on loopback

    [aliases]                                    # `protoshift aliases set NAME MODEL` edits this table
    "4o" = "openai:gpt-4o"

    [prices."claude-sonnet-5-5*"]                # USD per million tokens (cloud/pricing.py has the built-in rows)
    input = 3.0
    output = 15.0
    cache_read = 0.3

    [models."claude-opus-4-7*"]                  # extends/overrides the model capability table
    max_output = 64000                           # (cells: see protoshift.translator.models)
    sampling = "none"

    [state]                                      # serve's shared state (replicas: docs/deploy.md)
    url = "redis://127.0.0.1:6379/0"             # or serve --state URL

Keys come from the environment the official SDKs read (ANTHROPIC_API_KEY, OPENAI_API_KEY), then
the config file's `api_key`, then its `api_key_cmd` (run only when needed). Keys are never printed.

The config file holds keys and a command protoshift runs, so it is trusted only as ssh trusts its
own files: owned by the user (or root), writable by no one else. Any other is refused (exit 2).
"""

from __future__ import annotations

import math
import os
import re
import stat
import subprocess
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from protoshift.cli.exits import InputError
from protoshift.cli.flags import ProviderFlags

if TYPE_CHECKING:
    from protoshift.cloud.aliases import Aliases
    from protoshift.cloud.pricing import PriceTable
    from protoshift.translator import ModelTable
from protoshift.cloud.backend import DEFAULT_IDLE_TIMEOUT
from protoshift.cloud.kinds import BACKEND_NAMES, BACKENDS, DEFAULT_BACKEND
from protoshift.cloud.retry import DEFAULT_MAX_RETRIES
from protoshift.translator.sse import DEFAULT_MAX_EVENT_SIZE

KEY_COMMAND_TIMEOUT = 30.0

# The keys the config file may hold; any other is reported (a typo such as `modle` would
# otherwise be ignored without a word). A provider section is named after its backend.
TOP_LEVEL_KEYS = frozenset(
    {
        "backend",
        "model",
        "max_tokens",
        "timeout",
        "idle_timeout",
        "max_event_size",
        "max_retries",
        "breaker",
        "breaker_cooldown",
        "fallback",
        "log",
        "markdown",
        "aliases",
        "models",
        "prices",
        "serve",
        "state",
    }
)
PROVIDER_KEYS = frozenset({"api_key", "api_key_cmd", "base_url", "keep_billing_header"})


def config_path() -> Path:
    explicit = os.environ.get("PROTOSHIFT_CONFIG")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "protoshift" / "config.toml"


def load_config_file(path: Path | None = None, warn: Callable[[str], None] | None = None) -> dict[str, Any]:
    """The config file as a dict ({} when there is none); `warn` hears of every key it does not know."""
    path = path or config_path()
    try:
        with path.open("rb") as fh:
            st = os.fstat(fh.fileno())
            _check_trusted(path, st)
            loaded = tomllib.load(fh)
    except FileNotFoundError:
        return {}
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{path}: invalid TOML: {exc}") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from None
    _check_private(path, st, loaded)
    if warn is not None:
        for key in unknown_keys(loaded):
            warn(f"{path}: unknown setting {key!r} ignored")
    return loaded


def _check_trusted(path: Path, st: os.stat_result) -> None:
    """Refuse a config file someone else could have written: its api_key_cmd would run as this user."""
    if st.st_uid not in (os.getuid(), 0):
        raise InputError(
            f"{path}: the config file belongs to another user (uid {st.st_uid}); it is not used",
            hint=f"use a config file of your own: copy it, then chmod 600 {path}",
        )
    if st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        who = "everyone" if st.st_mode & stat.S_IWOTH else "its group"
        raise InputError(
            f"{path}: the config file can be written by {who}; it is not used (it can hold keys and a command to run)",
            hint=f"chmod 600 {path}",
        )


def _check_private(path: Path, st: os.stat_result, config: Mapping[str, Any]) -> None:
    """Refuse a config file that holds a key and that others can read, as ssh refuses a private key
    others can read: the key is already out, and using it without a word would hide that."""
    if not st.st_mode & (stat.S_IRGRP | stat.S_IROTH):
        return
    holding = [name for name, section in config.items() if isinstance(section, dict) and section.get("api_key")]
    if holding:
        who = "everyone" if st.st_mode & stat.S_IROTH else "its group"
        raise InputError(
            f"{path}: the config file holds a key (api_key under [{holding[0]}]) and can be read by {who}; it is not used",
            hint=f"chmod 600 {path} (and rotate the key if others may have read it)",
        )


def unknown_keys(config: Mapping[str, Any]) -> list[str]:
    """The dotted names of the settings protoshift does not know, in file order."""
    unknown: list[str] = []
    for key, value in config.items():
        if key in BACKENDS and BACKENDS[key].key_env is not None and isinstance(value, dict):
            unknown.extend(f"{key}.{sub}" for sub in value if sub not in PROVIDER_KEYS)
        elif key not in TOP_LEVEL_KEYS:
            unknown.append(key)
    return unknown


def model_table(file: dict[str, Any] | None = None) -> ModelTable:
    """The built-in model capability table extended by the config file's `[models."pattern"]` tables
    (read here when `file` is not given). A malformed cell: InputError naming the file and the cell."""
    from protoshift.translator import DEFAULT_TABLE, TranslationError

    if file is None:
        file = load_config_file()
    models = file.get("models")
    if models is None:
        return DEFAULT_TABLE
    try:
        return DEFAULT_TABLE.with_overrides(models)
    except TranslationError as exc:
        raise InputError(f"{config_path()}: {exc}") from None


@dataclass(frozen=True)
class BackendSpec:
    """`--backend` or one `--fallback BACKEND[:MODEL]`."""

    name: str
    model: str | None = None

    @classmethod
    def parse(cls, text: str, option: str) -> BackendSpec:
        name, _, model = text.partition(":")
        if name not in BACKENDS:
            raise InputError(f"{option} {text!r}: unknown backend {name!r} (use {', '.join(BACKEND_NAMES)})")
        return cls(name, model or None)


@dataclass
class Settings:
    """What `chat` and `batch` need to build backends, after flags, env and config are merged."""

    backend: str = DEFAULT_BACKEND
    model: str | None = None
    max_tokens: int | None = None
    timeout: float | None = None  # None: cloud's defaults (600 s for an answer, no limit for a stream)
    idle_timeout: float = DEFAULT_IDLE_TIMEOUT
    max_event_size: int = DEFAULT_MAX_EVENT_SIZE
    max_retries: int = DEFAULT_MAX_RETRIES
    breaker: bool = True
    breaker_cooldown: float | None = None  # None: cloud.breaker's (30 s)
    fallbacks: list[BackendSpec] = field(default_factory=list)
    fallback_source: str = "--fallback"  # where the fallbacks were configured, for messages about them
    base_url: str | None = None  # --base-url: for the primary backend only
    allow_insecure: bool = False
    log: bool = True  # `log = false` in the config; --no-log
    markdown: bool = True  # `markdown = false` in the config; --raw
    file: dict[str, Any] = field(default_factory=dict)
    flags: ProviderFlags = field(default_factory=ProviderFlags)  # what the command line said

    def aliases(self) -> Aliases:
        """The `[aliases]` table of the config file."""
        from protoshift.cloud.aliases import Aliases

        return Aliases.from_config(self.file, str(config_path()))

    def model_table(self) -> ModelTable:
        """The model capability table, with the config file's `[models."pattern"]` rows."""
        return model_table(self.file)

    def prices(self) -> PriceTable:
        """The price table, with the config file's `[prices."pattern"]` rows; an empty one for a backend
        whose answers cost nothing (the mock names real models, but nothing is paid)."""
        from protoshift.cloud.pricing import PriceError, PriceTable

        try:
            table = PriceTable(self.file.get("prices"), str(config_path()))
        except PriceError as exc:
            raise InputError(str(exc)) from None
        return table if BACKENDS[self.backend].billed else PriceTable.free()

    def default_model(self, backend: str) -> str:
        return self.model or BACKENDS[backend].default_model

    def provider_section(self, backend: str) -> dict[str, Any]:
        section = self.file.get(backend)
        return section if isinstance(section, dict) else {}

    def base_url_for(self, backend: str, *, primary: bool) -> str | None:
        if primary and self.base_url:
            return self.base_url
        from_env = BACKENDS[backend].base_url_from_env()
        if from_env:
            return from_env
        value = self.provider_section(backend).get("base_url")
        return value if isinstance(value, str) and value else None

    def state_url(self) -> str | None:
        """`[state] url`: the Redis or Valkey `serve` replicas share (`--state` says it for one run)."""
        return state_url(self.file)

    def keep_billing_header(self, backend: str) -> bool:
        """`keep_billing_header = true` in the backend's section: Claude Code's billing header goes on to it."""
        return self.provider_section(backend).get("keep_billing_header") is True

    def api_key_for(self, backend: str) -> str | None:
        """Env, then config `api_key`, then config `api_key_cmd`. None lets the backend say what is missing."""
        kind = BACKENDS[backend]
        if kind.key_env is None:
            return None
        from_env = kind.key_from_env()
        if from_env:
            return from_env
        section = self.provider_section(backend)
        key = section.get("api_key")
        if isinstance(key, str) and key:
            return key
        command = section.get("api_key_cmd")
        if isinstance(command, str) and command:
            return _run_key_command(backend, command)
        return None

    def key_source(self, backend: str) -> str | None:
        """Where `api_key_for` takes the key from, for messages about it (never the key itself)."""
        kind = BACKENDS[backend]
        if kind.key_env is None:
            return None
        if kind.key_from_env():
            return kind.key_env
        section = self.provider_section(backend)
        if isinstance(section.get("api_key"), str) and section["api_key"]:
            return f"api_key under [{backend}] in {config_path()}"
        return f"the output of api_key_cmd under [{backend}] in {config_path()}"


def state_url(file: Mapping[str, Any]) -> str | None:
    """`[state] url` of a config file: where `serve` and `keys` find the shared state."""
    section = file.get("state")
    url = section.get("url") if isinstance(section, dict) else None
    return url if isinstance(url, str) and url else None


def resolve_settings(flags: ProviderFlags | None = None, *, warn: Callable[[str], None] | None = None) -> Settings:
    """The settings from what the command line said (`flags`), the environment and the config file;
    `warn` hears of the config file's unknown keys. The settings keep `flags`: resolving them again
    later (serve's reload, its workers) reads the environment and the config file anew."""
    flags = flags or ProviderFlags()
    file = load_config_file(warn=warn)
    env = os.environ
    chosen_backend = flags.backend or env.get("PROTOSHIFT_BACKEND") or _str(file, "backend") or DEFAULT_BACKEND
    primary = BackendSpec.parse(chosen_backend, "--backend")
    # `--fallback a:x,b:y` splits on commas as PROTOSHIFT_FALLBACK does (a model name holds no comma)
    fallback_texts, fallback_source = [part for text in flags.fallbacks for part in _split(text)], "--fallback"
    if not fallback_texts:
        fallback_texts, fallback_source = _split(env.get("PROTOSHIFT_FALLBACK")), "PROTOSHIFT_FALLBACK"
    if not fallback_texts:
        fallback_texts, fallback_source = _list(file, "fallback"), f"fallback in {config_path()}"
    breaker_off = flags.no_breaker or env.get("PROTOSHIFT_BREAKER", "").lower() in ("off", "0", "false", "no")
    if not breaker_off and file.get("breaker") is False:
        breaker_off = True
    return Settings(
        flags=flags,
        backend=primary.name,
        model=flags.model or primary.model or env.get("PROTOSHIFT_MODEL") or _str(file, "model"),
        max_tokens=_first_int("max_tokens", flags.max_tokens, env.get("PROTOSHIFT_MAX_TOKENS"), file.get("max_tokens")),
        timeout=_first_float("timeout", flags.timeout, env.get("PROTOSHIFT_TIMEOUT"), file.get("timeout")),
        idle_timeout=_first_float(
            "idle_timeout", flags.idle_timeout, env.get("PROTOSHIFT_IDLE_TIMEOUT"), file.get("idle_timeout")
        )
        or DEFAULT_IDLE_TIMEOUT,
        max_event_size=max_event_size(file),
        max_retries=_or_default(
            _first_int("max_retries", flags.max_retries, env.get("PROTOSHIFT_MAX_RETRIES"), file.get("max_retries")),
            DEFAULT_MAX_RETRIES,
        ),
        breaker=not breaker_off,
        breaker_cooldown=_first_float(
            "breaker_cooldown", env.get("PROTOSHIFT_BREAKER_COOLDOWN"), file.get("breaker_cooldown")
        ),
        fallbacks=[BackendSpec.parse(text, "--fallback") for text in fallback_texts],
        fallback_source=fallback_source,
        base_url=flags.base_url,
        allow_insecure=flags.allow_insecure,
        log=_switch(file, "log"),
        markdown=_switch(file, "markdown"),
        file=file,
    )


SHELL_NOT_FOUND = 127  # the shell's exit code for a program it cannot find


def _run_key_command(backend: str, command: str) -> str:
    """A password-manager command from the config file. Its output is the key: never echoed anywhere."""
    try:
        done = subprocess.run(
            command, shell=True, capture_output=True, text=True, timeout=KEY_COMMAND_TIMEOUT, check=False
        )
    except subprocess.TimeoutExpired:
        raise InputError(f"api_key_cmd for {backend} did not finish in {KEY_COMMAND_TIMEOUT:g}s") from None
    if done.returncode == SHELL_NOT_FOUND:
        program = (command.split() or [command])[0]  # what the shell ran first, as it said it
        raise InputError(
            f"api_key_cmd for {backend}: command not found: {program}", hint=f"check [{backend}] in {config_path()}"
        )
    if done.returncode != 0:
        raise InputError(
            f"api_key_cmd for {backend} failed (exit {done.returncode})", hint=f"check [{backend}] in {config_path()}"
        )
    key = done.stdout.strip()
    if not key:
        raise InputError(f"api_key_cmd for {backend} printed no key")
    return key


def _table(file: dict[str, Any], key: str) -> dict[str, Any]:
    value = file.get(key)
    return value if isinstance(value, dict) else {}


def _str(file: dict[str, Any], key: str) -> str | None:
    value = file.get(key)
    return value if isinstance(value, str) and value else None


def _list(file: dict[str, Any], key: str) -> list[str]:
    value = file.get(key)
    if isinstance(value, str):
        return [value]
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def _switch(file: dict[str, Any], key: str) -> bool:
    """A true/false setting of the config file, on unless set to false."""
    value = file.get(key, True)
    if not isinstance(value, bool):
        raise InputError(f"{config_path()}: {key}: expected true or false, got {str(value)[:40]!r}")
    return value


def _split(text: str | None) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()] if text else []


def _first_int(name: str, *candidates: object) -> int | None:
    for value in candidates:
        if value is None or value == "":
            continue
        try:
            number = int(str(value).strip())
        except ValueError:
            raise InputError(f"{name}: expected an integer, got {str(value)[:40]!r}") from None
        if number < 0:
            raise InputError(f"{name}: must not be negative, got {number}")
        return number
    return None


def _or_default(value: int | None, default: int) -> int:
    return default if value is None else value


def _first_float(name: str, *candidates: object) -> float | None:
    for value in candidates:
        if value is None or value == "":
            continue
        try:
            number = float(str(value).strip())
        except ValueError:
            raise InputError(f"{name}: expected a number of seconds, got {str(value)[:40]!r}") from None
        if not math.isfinite(number) or number <= 0:
            raise InputError(f"{name}: must be positive and finite, got {number:g}")
        return number
    return None


_SIZE_UNITS = {"": 1, "b": 1, "k": 1 << 10, "kib": 1 << 10, "m": 1 << 20, "mib": 1 << 20, "g": 1 << 30, "gib": 1 << 30}


def max_event_size(file: Mapping[str, Any] | None = None) -> int:
    """The most one SSE event may hold: PROTOSHIFT_MAX_EVENT_SIZE, then the config file's
    `max_event_size`, in bytes (`16777216`, `16MiB`, `512k`); 16 MiB by default."""
    for name, value in (
        ("PROTOSHIFT_MAX_EVENT_SIZE", os.environ.get("PROTOSHIFT_MAX_EVENT_SIZE")),
        ("max_event_size", (file or {}).get("max_event_size")),
    ):
        if value is None or value == "":
            continue
        match = re.fullmatch(r"\s*(\d{1,15})\s*([a-zA-Z]*)\s*", str(value))
        unit = _SIZE_UNITS.get(match.group(2).lower()) if match else None
        if match is None or unit is None or int(match.group(1)) == 0:
            raise InputError(f"{name}: expected a size in bytes (e.g. 16MiB), got {str(value)[:40]!r}")
        return int(match.group(1)) * unit
    return DEFAULT_MAX_EVENT_SIZE
