"""`protoshift translate request|response|stream --from responses`: for a client that speaks OpenAI's
Responses API (Codex, the Agents SDK) in front of an OpenAI-compatible chat-completions model (issue 20).
`--from` names the client's side:

- `request`: Responses requests -> Chat Completions bodies (the same notes, `--explain`, `--strict`,
  `--jsonl` and one error line per problem as the other directions), shaped for their model by the
  capability table (`-m` replaces it). A request that continues a stored one (`previous_response_id`)
  is refused: offline, there is no stored conversation to put first;
- `response`: chat.completion -> Responses `response`;
- `stream`: OpenAI SSE -> Responses SSE (`event: TYPE` / `data: JSON`, numbered, one terminal event), live
  as the input arrives. A stream that fails or is cut ends with `response.failed` and exits 1.

Offline there is no request beside an answer: it echoes no request field, and a tool call keeps the
chat function's name (a custom or namespaced tool is not known to be one).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import IO, TYPE_CHECKING, Any

from protoshift.cli.exits import OK, PROVIDER_FAILED, CLIError, InputError
from protoshift.translator import TranslationError, chat_to_responses, responses_to_chat
from protoshift.translator.responses_to_chat import ToolMap
from protoshift.translator.tables import RESPONSES_MAPPED_FIELDS

if TYPE_CHECKING:
    from protoshift.cli.io.inputs import Source
    from protoshift.cli.translate.options import TranslateRun


def converter(kind: str, run: TranslateRun) -> Callable[[Any, str], Any]:
    """The function that translates one input of `kind` (request or response) for a Responses client."""
    if kind == "response":
        return lambda value, where: chat_to_responses.response(value, request={}, tools=ToolMap())

    from protoshift.cli.settings import model_table

    models = model_table()
    strict = run.options.strict
    return run.request_converter(
        lambda value: responses_to_chat.request(value, strict=strict, models=models), RESPONSES_MAPPED_FIELDS
    )


def translate_stream(source: Source, out: IO[bytes], run: TranslateRun) -> int:
    """OpenAI SSE in, Responses SSE out, each event written as soon as its chunk is read."""
    from protoshift.cli.translate.sse_input import decoded_events
    from protoshift.translator.sse import JSONEventDecoder, SSEDataError

    decoder = JSONEventDecoder()
    translator = chat_to_responses.Stream(request={}, tools=ToolMap())
    try:
        for chunk in decoded_events(decoder, source, out):
            for event in translator.feed(chunk):
                out.write(chat_to_responses.encode_event(event))
        for event in translator.close():
            out.write(chat_to_responses.encode_event(event))
    except SSEDataError as exc:
        out.flush()
        raise InputError(f"{source.name}: {exc}") from None
    except TranslationError as exc:
        out.flush()
        raise InputError(f"{source.name}: an invalid chunk: {exc}") from None
    out.flush()
    if translator.failed is not None:
        error = translator.failed["response"]["error"]
        raise CLIError(f"{source.name}: the stream failed: {error['code']}: {error['message']}", PROVIDER_FAILED)
    return OK
