"""`protoshift models`: what the backend offers (`GET /v1/models`, on Anthropic and on OpenAI-compatible
servers alike), then the aliases of the config file, marked as aliases."""

from __future__ import annotations

import asyncio
from typing import Any

from protoshift.cli.chain import create_chain
from protoshift.cli.exits import OK
from protoshift.cli.io.console import Diagnostics
from protoshift.cli.io.output import json_line, write_stdout
from protoshift.cli.settings import Settings
from protoshift.cloud.aliases import Target
from protoshift.cloud.kinds import BACKENDS
from protoshift.translator.model_objects import ModelInfo

ALIAS_OWNER = "alias"


def run_models(settings: Settings, json_lines: bool, diag: Diagnostics) -> int:
    settings.fallbacks = []  # the models of the backend asked, not of a chain
    aliases = settings.aliases()  # a malformed [aliases] fails before anything is sent
    models = asyncio.run(_list(settings, diag))
    for model in models:
        write_stdout(json_line(model.to_chat()) if json_lines else f"{model.id}\n".encode())
    for name, target in aliases.names():
        if json_lines:
            write_stdout(json_line(_alias_object(name, target)))
        else:
            write_stdout(f"{name} -> {target} (alias)\n".encode())
    return OK


async def _list(settings: Settings, diag: Diagnostics) -> list[ModelInfo]:
    backend = create_chain(settings, diag, api=BACKENDS[settings.backend].api)  # its own API: no bridge needed
    try:
        return await backend.list_models()
    finally:
        await backend.aclose()


def _alias_object(name: str, target: Target) -> dict[str, Any]:
    """An alias in the shape of an OpenAI model object, with what it stands for."""
    return {**ModelInfo(name, owned_by=ALIAS_OWNER).to_chat(), "alias_of": str(target)}
