"""The APIs the gateway speaks to its clients, one module each (see base.py for what a surface is).
Adding one: a module with its `Surface` subclass, and its instance in `SURFACES`."""

from __future__ import annotations

from protoshift.gateway.surfaces.base import Listing, StreamFrames, Surface
from protoshift.gateway.surfaces.chat import ChatSurface
from protoshift.gateway.surfaces.messages import MessagesSurface
from protoshift.gateway.surfaces.responses import ResponsesSurface

__all__ = ["SURFACES", "Listing", "StreamFrames", "Surface"]

SURFACES: tuple[Surface, ...] = (ChatSurface(), MessagesSurface(), ResponsesSurface())
