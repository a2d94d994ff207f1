"""The backends behind the gateway: each built once, on first use, and shared by every surface (one
connection pool, one learned model table per backend); a chain per (API, first backend) — that
backend, then the configured fallbacks — bridged by cloud to the API its surface speaks."""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from protoshift.cloud import client_for
from protoshift.cloud.aliases import Target
from protoshift.cloud.backend import KeepsResponses
from protoshift.cloud.errors import ConfigurationError
from protoshift.cloud.fallback import Unusable
from protoshift.cloud.kinds import BACKENDS
from protoshift.gateway.errors import failure_for
from protoshift.translator.model_objects import ModelInfo
from protoshift.translator.wire import MESSAGES, RESPONSES

if TYPE_CHECKING:
    from protoshift.cloud.backend import Backend, Client
    from protoshift.cloud.events import EventSink
    from protoshift.gateway.config import GatewayConfig
    from protoshift.gateway.exchange import Exchange
    from protoshift.translator.wire import API, JSON

__all__ = ["ALIAS_OWNER", "MODELS_TTL", "Upstreams"]

MODELS_TTL = 60.0  # seconds a model list from upstream is reused
ALIAS_OWNER = "protoshift-alias"


class Upstreams:
    def __init__(self, config: GatewayConfig, on_event: EventSink) -> None:
        self.config = config
        self._on_event = on_event
        self._backends: dict[str, Backend] = {}
        self._clients: dict[tuple[API, str], Client] = {}
        self._models: tuple[float, list[ModelInfo]] | None = None
        kind = BACKENDS.get(config.backend)
        self.default_model = config.default_model or (kind.default_model if kind else None)
        self._users = 0  # requests between routing and their answer's end
        self._retired = False
        self._closing: asyncio.Task[None] | None = None

    def backend(self, name: str) -> Backend:
        backend = self._backends.get(name)
        if backend is None:
            backend = self._backends[name] = self.config.build_backend(name, self._on_event)
        return backend

    def client(self, api: API, first: str | None = None) -> Client:
        """The chain that starts at `first` (default: the configured backend), speaking `api`."""
        name = first or self.config.backend
        client = self._clients.get((api, name))
        if client is None:
            members: list[tuple[Backend | Unusable, str | None]] = [(self.backend(name), None)]
            members += [(self._fallback(backend), model) for backend, model in self.config.fallbacks]
            client = self._clients[(api, name)] = client_for(api, members, on_event=self._on_event)
        return client

    def _fallback(self, name: str) -> Backend | Unusable:
        """A fallback that cannot be built here (no key: `serve` said so at start) fails only when reached."""
        try:
            return self.backend(name)
        except ConfigurationError as exc:
            return Unusable(name, exc.message.removeprefix(f"{name}: "))

    def route(self, api: API, request: JSON, exchange: Exchange) -> Client:
        """The chain for the request's model (aliases applied); the request then names the model it goes to."""
        target = self.target(request.get("model"))
        if target.model:
            request["model"] = exchange.model = target.model
        else:
            exchange.model = ""  # no model anywhere: the translator (or the provider) says so, with the field
        return self.client(api, target.backend)

    def target(self, model: Any) -> Target:
        if isinstance(model, str) and model:
            return self.config.aliases.resolve(model) or Target(model)
        return Target(self.default_model or "")

    async def models(self, exchange: Exchange) -> list[ModelInfo]:
        """The default backend's models (cached a minute), then the aliases, each once. When the backend
        cannot list them, the default model stands in and the log says why."""
        now = time.monotonic()
        if self._models is not None and now - self._models[0] < MODELS_TTL:
            listed = self._models[1]
        else:
            try:
                listed = await self.backend(self.config.backend).list_models()
                self._models = (now, listed)
            except Exception as exc:
                if failure_for(exc) is None:
                    raise
                exchange.error = f"listing the backend's models failed: {exc}"
                listed = [ModelInfo(self.default_model or "", owned_by=self.config.backend)]
        by_id = {model.id: model for model in listed}
        for name, _target in self.config.aliases.names():
            if not any(c in name for c in "*?["):
                by_id.setdefault(name, ModelInfo(name, owned_by=ALIAS_OWNER))
        return [self._with_limits(model) for model in by_id.values()]

    def _with_limits(self, model: ModelInfo) -> ModelInfo:
        """The model with the context window and output limit of the model it goes to (an alias's
        target), as its backend's table knows them (built in, config, learned): Claude Code sizes its
        context, and compacts, by them."""
        target = self.target(model.id)
        try:
            backend = self.backend(target.backend or self.config.backend)
        except ConfigurationError:  # that backend cannot be built here (no key): listed, with no limits
            return model
        table = backend.shaping.models
        facts = (table if backend.api == MESSAGES else table.openai_side()).lookup(target.model)
        if facts is None or (facts.context_window is None and facts.max_output is None):
            return model
        return replace(
            model,
            context_window=facts.context_window or model.context_window,
            max_output=facts.max_output or model.max_output,
        )

    def responses_keeper(self) -> KeepsResponses | None:
        """The backend that keeps the responses it makes (it speaks OpenAI Responses), if one is
        configured: the default backend, else one an alias or a fallback names (an id does not say
        whose it is: the first such backend is asked). Only its kind is looked at before one is built."""
        names = [self.config.backend, *(t.backend for _, t in self.config.aliases.names() if t.backend)]
        names += [name for name, _ in self.config.fallbacks]
        for name in dict.fromkeys(names):
            kind = BACKENDS.get(name)
            if kind is not None and kind.api == RESPONSES:
                try:
                    backend = self.backend(name)
                except ConfigurationError:  # cannot be built here (no key): it keeps nothing for us
                    continue
                if isinstance(backend, KeepsResponses):
                    return backend
        return None

    def breaker_states(self) -> list[tuple[str, str]]:
        states: list[tuple[str, str]] = []
        for backend in self._backends.values():
            with contextlib.suppress(Exception):
                if (state := backend.breaker_state()) is not None:
                    states.append((backend.name, state))
        return sorted(set(states))

    def __enter__(self) -> Upstreams:
        """`with upstreams:` held by a request from routing to its answer's end: a retired set closes
        after its last one."""
        self._users += 1
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._users -= 1
        if self._retired and self._users == 0:
            self._close_soon()

    def retire(self) -> None:
        """A reload replaced these: the requests that use them finish, then their connections close."""
        self._retired = True
        if self._users == 0:
            self._close_soon()

    def _close_soon(self) -> None:
        if self._closing is None:
            self._closing = asyncio.get_running_loop().create_task(self.aclose())

    async def aclose(self) -> None:
        for backend in self._backends.values():
            with contextlib.suppress(Exception):
                await backend.aclose()
