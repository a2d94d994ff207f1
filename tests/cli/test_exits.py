"""The one table that turns cloud's facts into exit codes and hints (cli/exits.py)."""

from __future__ import annotations

import pytest

from protoshift.cli.exits import BAD_INPUT, PROVIDER_FAILED, hint_for, map_failure
from protoshift.cloud.errors import (
    APIConnectionError,
    APITimeoutError,
    BackendError,
    CircuitOpenError,
    ConfigurationError,
    FallbackExceptionGroup,
    InsecureTransportError,
    InvalidBaseURLError,
    InvalidKeyError,
    MissingKeyError,
    ResponseFormatError,
    StreamInterruptedError,
    UnknownBackendError,
    error_from_response,
)
from protoshift.translator import TranslationError


@pytest.mark.parametrize(
    ("error", "code", "hint"),
    [
        (MissingKeyError("anthropic", "ANTHROPIC_API_KEY"), BAD_INPUT, "set ANTHROPIC_API_KEY"),
        (InsecureTransportError("openai", "10.0.0.5"), BAD_INPUT, "--allow-insecure"),
        (InvalidKeyError("anthropic", "ANTHROPIC_API_KEY", "a carriage return", "at its end"), BAD_INPUT, "tr -d"),
        (InvalidKeyError("anthropic", "ANTHROPIC_API_KEY", "a space", "inside it"), BAD_INPUT, "no spaces"),
        (
            InvalidBaseURLError("bad base URL 'x'", setting="OPENAI_BASE_URL"),
            BAD_INPUT,
            "set OPENAI_BASE_URL or --base-url",
        ),
        (UnknownBackendError("nope", ["anthropic", "mock"]), BAD_INPUT, "anthropic, mock"),
        (error_from_response("anthropic", 401, b"", {}), PROVIDER_FAILED, "check ANTHROPIC_API_KEY"),
        (error_from_response("openai", 401, b"", {}), PROVIDER_FAILED, "check OPENAI_API_KEY"),
        (error_from_response("anthropic", 404, b"", {}), PROVIDER_FAILED, "model name"),
        (error_from_response("anthropic", 400, b"", {}), PROVIDER_FAILED, "fix the request"),
        (error_from_response("anthropic", 429, b"", {}), PROVIDER_FAILED, "--fallback"),
        (error_from_response("anthropic", 529, b"", {}), PROVIDER_FAILED, "overloaded"),
        (error_from_response("anthropic", 500, b"", {}), PROVIDER_FAILED, "--fallback"),
        (APITimeoutError("anthropic"), PROVIDER_FAILED, "--timeout"),
        (APIConnectionError("anthropic", "refused"), PROVIDER_FAILED, "base URL"),
        (CircuitOpenError("anthropic", 17), PROVIDER_FAILED, "wait 17s"),
        (StreamInterruptedError("anthropic", "api_error", "x"), PROVIDER_FAILED, "incomplete"),
        (ResponseFormatError("anthropic", "not JSON"), PROVIDER_FAILED, "base URL"),
    ],
)
def test_each_failure_has_its_exit_code_and_a_hint(
    error: BackendError | ConfigurationError, code: int, hint: str
) -> None:
    mapped = map_failure(error)
    assert mapped is not None and mapped.code == code
    assert mapped.hint is not None and hint in mapped.hint, mapped.hint
    assert hint_for(error) == mapped.hint


def test_bad_input_is_exit_2_without_a_hint() -> None:
    mapped = map_failure(TranslationError("messages[0].role", "unknown role 'robot'"))
    assert mapped is not None and mapped.code == BAD_INPUT
    assert mapped.message == "messages[0].role: unknown role 'robot'"


def test_a_failed_fallback_chain_gives_one_line_per_backend() -> None:
    group = FallbackExceptionGroup(
        "all 2 backends tried failed",
        [error_from_response("anthropic", 529, b"", {}), error_from_response("openai", 401, b"", {})],
    )
    mapped = map_failure(group)
    assert mapped is not None and mapped.code == PROVIDER_FAILED
    assert mapped.message == "all 2 backends tried failed"
    assert len(mapped.details) == 2
    assert mapped.details[0].startswith("anthropic: 529") and "overloaded" in mapped.details[0]
    assert mapped.details[1].startswith("openai: 401") and "OPENAI_API_KEY" in mapped.details[1]


def test_anything_else_is_not_an_expected_failure() -> None:
    assert map_failure(ValueError("a bug")) is None
