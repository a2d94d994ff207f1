"""Errors the translator raises. Each carries what a user needs to fix or report the problem."""

from __future__ import annotations


class TranslationError(ValueError):
    """Input that cannot be translated: names the JSON path of the field and the reason in one line."""

    def __init__(self, path: str, reason: str) -> None:
        self.path = path or "$"
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")


class StreamError(Exception):
    """Base of the errors a stream can end with after some chunks were given out."""


class UpstreamStreamError(StreamError):
    """The provider sent an `error` event mid-stream (e.g. `overloaded_error`)."""

    def __init__(self, error_type: str, message: str) -> None:
        self.error_type = error_type
        self.message = message
        super().__init__(f"{error_type}: {message}")


class IncompleteStreamError(StreamError):
    """The stream ended before its closing event: the answer is cut."""

    def __init__(self, reason: str = "stream ended before message_stop") -> None:
        self.reason = reason
        super().__init__(reason)
