"""`protoshift translate request|response|stream --from anthropic`: the other direction, for a client that
speaks Anthropic's Messages API in front of an OpenAI-compatible model (issue 14). `--from` names the
client's side:

- `request`: Anthropic Messages requests -> OpenAI Chat Completions bodies (the same notes, `--explain`,
  `--strict`, `--jsonl` and one error line per problem as the other direction), shaped for their model
  by the capability table (`-m` replaces it; `--max-tokens` stands in for a missing `max_tokens`);
- `response`: OpenAI chat.completion -> Anthropic message;
- `stream`: OpenAI SSE -> Anthropic SSE (`event: NAME` / `data: JSON`), live as the input arrives. A
  stream that ends with an error object gives the `error` event and exits 1; a cut one exits 1.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import IO, TYPE_CHECKING, Any

from protoshift.cli.exits import OK, PROVIDER_FAILED, CLIError, InputError
from protoshift.translator import IncompleteStreamError, anthropic_to_openai, openai_to_anthropic
from protoshift.translator.tables import ANTHROPIC_MAPPED_FIELDS

if TYPE_CHECKING:
    from protoshift.cli.io.inputs import Source
    from protoshift.cli.translate.options import TranslateRun

SIDES = ("openai", "anthropic", "responses")


def check_side(side: str) -> None:
    if side not in SIDES:
        raise InputError(f"--from {side!r}: expected openai (OpenAI Chat clients, the default), anthropic or responses")


def converter(kind: str, run: TranslateRun) -> Callable[[Any, str], Any]:
    """The function that translates one input of `kind` (request or response) from Anthropic's side."""
    if kind == "response":
        return lambda value, where: openai_to_anthropic.response(value)

    from protoshift.cli.settings import model_table

    options = run.options
    models = model_table()
    return run.request_converter(
        lambda value: anthropic_to_openai.request(
            value, strict=options.strict, models=models, default_max_tokens=options.default_max_tokens
        ),
        ANTHROPIC_MAPPED_FIELDS,
    )


def translate_stream(source: Source, out: IO[bytes], run: TranslateRun) -> int:
    """OpenAI SSE in, Anthropic SSE out, each event written as soon as its chunk is read."""
    from protoshift.cli.translate.sse_input import decoded_events
    from protoshift.translator.sse import JSONEventDecoder, SSEDataError

    decoder = JSONEventDecoder()
    translator = openai_to_anthropic.Stream(model=run.options.model)
    try:
        for chunk in decoded_events(decoder, source, out):
            for event in translator.feed(chunk):
                out.write(openai_to_anthropic.encode_event(event))
        for event in translator.close():
            out.write(openai_to_anthropic.encode_event(event))
    except SSEDataError as exc:
        out.flush()
        raise InputError(f"{source.name}: {exc}") from None
    except IncompleteStreamError as exc:
        out.flush()
        raise CLIError(f"{source.name}: {exc.reason}: the answer is cut", PROVIDER_FAILED) from None
    out.flush()
    if translator.failed is not None:
        error = translator.failed["error"]
        raise CLIError(
            f"{source.name}: the stream ended with an error: {error['type']}: {error['message']}", PROVIDER_FAILED
        )
    return OK
