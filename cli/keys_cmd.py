"""`protoshift keys add|list|remove|usage`: the gateway's client keys (gateway/clients), where `serve`
reads them — the shared Redis with `--state URL` (or `[state] url` in the config, as `serve` reads it),
else the SQLite file under the data folder that `serve` on this machine reads.

A key is printed once, by `add`, on stdout alone (so `KEY=$(protoshift keys add NAME)` takes it); only
its SHA-256 is kept. No other command can show it again: a lost key is removed and added anew.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, TypeVar

from protoshift.cli.exits import PROVIDER_FAILED, CLIError, InputError

if TYPE_CHECKING:
    from protoshift.cli.io.console import Diagnostics
    from protoshift.gateway.clients.gate import KeyStore

T = TypeVar("T")
CLI_TIMEOUT = 5.0  # seconds a call to Redis may take from the command line (serve's own calls: 250 ms)


def with_store(state_url: str | None, work: Callable[[KeyStore], Awaitable[T]]) -> T:
    """`work(store)` on the store the options name, closed after; a store that does not answer is one line."""
    from protoshift.gateway.state.connection import StateUnavailable

    async def run() -> T:
        store: KeyStore
        if state_url:
            from protoshift.gateway.state.connection import SharedState, StateURL
            from protoshift.gateway.state.keys import RedisKeys

            try:
                url = StateURL.parse(state_url)
            except ValueError as exc:
                raise InputError(
                    f"--state: {exc}", hint="--state redis://HOST:6379/0 (or rediss://, unix:///PATH)"
                ) from None
            state = SharedState(url, timeout=CLI_TIMEOUT, backoff=0.0)
            try:
                return await work(RedisKeys(state))
            finally:
                await state.aclose()
        from protoshift.cloud.state import data_dir
        from protoshift.gateway.clients.sqlite import FILENAME, SQLiteKeys

        store = SQLiteKeys(data_dir() / FILENAME)
        try:
            return await work(store)
        finally:
            await store.aclose()

    try:
        return asyncio.run(run())
    except StateUnavailable as exc:
        raise CLIError(f"the keys' store did not answer: {exc}", PROVIDER_FAILED) from None


def run_add(
    name: str,
    *,
    rpm: int | None,
    tpm: int | None,
    budget: float | None,
    period: str | None,
    models: list[str],
    state_url: str | None,
    diag: Diagnostics,
) -> int:
    from protoshift.cli.io.output import write_stdout
    from protoshift.gateway.clients.records import ClientKey, digest, new_secret

    if budget is not None and period is None:
        period = "month"
    patterns = tuple(dict.fromkeys(part.strip() for given in models for part in given.split(",") if part.strip()))
    secret = new_secret()
    try:
        key = ClientKey(name, digest(secret), rpm, tpm, budget, period, patterns, time.time())  # type: ignore[arg-type]
    except ValueError as exc:
        raise InputError(str(exc)) from None
    if not with_store(state_url, lambda store: store.add(key)):
        raise InputError(
            f"a key named {name!r} exists", hint=f"protoshift keys remove {name} first (its usage goes with it)"
        )
    write_stdout((secret + "\n").encode(), flush=True)
    where = "the shared state" if state_url else "this machine's keys"
    diag.warn(f"key {name} added to {where} ({key.limits_text()}); it is shown this once: keep it")
    return 0


def run_list(state_url: str | None, json_lines: bool, diag: Diagnostics) -> int:
    from protoshift.cli.io.output import json_line, write_stdout

    keys = with_store(state_url, lambda store: store.keys())
    for key in keys:
        if json_lines:
            row = {k: v for k, v in key.to_json().items() if k != "digest"}
            write_stdout(json_line(row))
        else:
            created = time.strftime("%Y-%m-%d %H:%M", time.gmtime(key.created))
            write_stdout(f"{key.name}  {key.limits_text()}  (created {created} UTC)\n".encode())
    if not keys:
        diag.warn("no client keys (protoshift keys add NAME makes one)")
    return 0


def run_remove(name: str, state_url: str | None, diag: Diagnostics) -> int:
    if not with_store(state_url, lambda store: store.remove(name)):
        raise InputError(f"no key named {name!r}", hint="protoshift keys list names them")
    diag.warn(f"key {name} removed: servers refuse it within a second")
    return 0


def run_usage(name: str | None, state_url: str | None, json_lines: bool, diag: Diagnostics) -> int:
    """Each key's requests, tokens and spend today and this month (UTC), as the servers counted them (within
    a second: each adds what it used a few times a second)."""
    from protoshift.cli.io.output import json_line, write_stdout
    from protoshift.cli.pricing import format_cost
    from protoshift.gateway.clients.records import ClientKey, Period, Usage, periods

    current = periods()

    async def read(store: KeyStore) -> tuple[list[ClientKey], dict[str, dict[Period, Usage]]]:
        keys = await store.keys()
        if name is not None:
            keys = [key for key in keys if key.name == name]
            if not keys:
                raise InputError(f"no key named {name!r}", hint="protoshift keys list names them")
        return keys, await store.usage([key.name for key in keys], current)

    keys, usage = with_store(state_url, read)
    for key in keys:
        if json_lines:
            for period, used in usage[key.name].items():
                write_stdout(json_line({"name": key.name, "period": current.id(period), **used.to_json()}))
            continue
        parts = []
        for period, when in (("day", "today"), ("month", "this month")):
            used = usage[key.name][period]
            budget = f" of ${key.budget:g}" if key.period == period else ""
            parts.append(
                f"{when}: {used.requests} requests, {used.tokens_in} tokens in, {used.tokens_out} out,"
                f" {format_cost(used.spend)}{budget}"
            )
        write_stdout(f"{key.name}  {'; '.join(parts)}\n".encode())
    if not keys:
        diag.warn("no client keys (protoshift keys add NAME makes one)")
    return 0
