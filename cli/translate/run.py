"""`protoshift translate request|response|stream`: offline conversion, file by file or line by line.

A request that cannot be translated prints one error line per problem (`FILE[:LINE]: PATH: reason`)
and exits 2; with `--explain` its table still shows every field, refused rows included. Request
bodies are shaped for their model (`-m` replaces it) by the capability table, with the config
file's `[models."pattern"]` rows.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import IO, Any, Literal

from protoshift.cli.exits import BAD_INPUT, OK, PROVIDER_FAILED, CLIError, InputError
from protoshift.cli.io.console import Diagnostics
from protoshift.cli.io.inputs import Source, iter_jsonl, parse_json, resolve_sources
from protoshift.cli.io.output import atomic_file, json_document, json_line, stdout
from protoshift.cli.translate.options import TranslateOptions, TranslateRun
from protoshift.cli.translate.sse_input import decoded_events
from protoshift.translator import (
    IncompleteStreamError,
    TranslationError,
    UpstreamStreamError,
    anthropic_to_openai,
    openai_to_anthropic,
)

Kind = Literal["request", "response", "stream"]


class _Reported(Exception):
    """An input failed and its problems were printed; its output is not written."""


def run_translate(kind: Kind, inputs: list[str] | None, options: TranslateOptions, diag: Diagnostics) -> int:
    if options.side != "openai":
        from protoshift.cli.translate.from_anthropic import check_side

        check_side(options.side)
    suffixes = (".jsonl",) if options.jsonl else ((".sse", ".txt") if kind == "stream" else (".json",))
    sources = resolve_sources(inputs, suffixes=suffixes)
    _check_outputs(sources, options)
    run = TranslateRun(options, diag)
    worst = OK
    for source in sources:
        target = _target(source, options)
        try:
            code = _translate_source(kind, source, target, run)
        except _Reported:
            run.failed += 1
            code = BAD_INPUT
        except CLIError as exc:
            if len(sources) == 1:
                raise
            diag.error(exc.message)  # several files: report this one and go on with the rest
            run.failed += 1
            code = exc.code
        worst = max(worst, code)
    _report(run)
    if run.failed and worst == OK:
        worst = BAD_INPUT
    return worst


def _check_outputs(sources: list[Source], options: TranslateOptions) -> None:
    if options.output is not None and options.out_dir is not None:
        raise InputError("-o FILE and -d DIR both say where to write: choose one")
    if len(sources) > 1 and options.out_dir is None:
        raise InputError(
            f"{len(sources)} inputs need --out-dir DIR (-d: one output per input, same names)",
            hint="-o FILE takes the output of one input",
        )
    _refuse_name_clashes(sources, options.out_dir)


def _target(source: Source, options: TranslateOptions) -> Path | None:
    """Where this input's output goes: a file, or None for stdout."""
    if options.output is not None:
        return None if options.output == "-" else Path(options.output)
    if options.out_dir is None:
        return None
    if source.path is None:
        return options.out_dir / f"stdin.{'jsonl' if options.jsonl else 'json'}"
    return options.out_dir / source.path.name


def _refuse_name_clashes(sources: list[Source], out_dir: Path | None) -> None:
    if out_dir is None:
        return
    seen: dict[str, str] = {}
    for source in sources:
        name = source.path.name if source.path else source.name  # the file's own name, not the printable one
        if name in seen:
            raise InputError(f"{seen[name]} and {source.name} would both be written to {out_dir / name}")
        seen[name] = source.name


def _translate_source(kind: Kind, source: Source, target: Path | None, run: TranslateRun) -> int:
    if target is None:
        return _translate_to(kind, source, stdout(), run)
    with atomic_file(target) as fh:
        return _translate_to(kind, source, fh, run)


def _translate_to(kind: Kind, source: Source, out: IO[bytes], run: TranslateRun) -> int:
    if kind == "stream":
        return _stream_translation(run)(source, out, run)
    convert = _side_converter(kind, run)
    if not run.options.jsonl:
        value = parse_json(source.read_bytes(), source.name)
        try:
            result = convert(value, source.name)
        except TranslationError as exc:
            for problem in exc.problems:
                run.diag.error(f"{source.name}: {problem}")
            if kind == "response" and _is_request(value):
                run.diag.hint(f"{source.name} is a request, not a response: protoshift translate request takes it")
            raise _Reported from None  # nothing is written for this input
        out.write(json_document(result))
        return OK
    code = OK
    for number, line in iter_jsonl(source.read_bytes(), source.name):
        where = f"{source.name}:{number}"
        try:
            result = convert(parse_json(line, source.name, line_offset=number - 1), where)
        except InputError as exc:
            run.diag.error(exc.message)
            result = {"error": {"line": number, "message": exc.message}}
            run.failed += 1
            code = BAD_INPUT
        except TranslationError as exc:
            for problem in exc.problems:
                run.diag.error(f"{where}: {problem}")
            problems = [{"path": p.path, "reason": p.reason} for p in exc.problems]
            result = {"error": {"line": number, "message": str(exc), "path": exc.path, "problems": problems}}
            run.failed += 1
            code = BAD_INPUT
        out.write(json_line(result))
    return code


def _is_request(value: Any) -> bool:
    """A request (Chat, Messages or Responses) given where an answer was expected."""
    answer = ("choices", "content", "output")
    return isinstance(value, dict) and ("messages" in value or "input" in value) and not any(k in value for k in answer)


def _stream_translation(run: TranslateRun) -> Callable[[Source, IO[bytes], TranslateRun], int]:
    if run.options.side == "anthropic":
        from protoshift.cli.translate.from_anthropic import translate_stream

        return translate_stream
    if run.options.side == "responses":
        from protoshift.cli.translate.from_responses import translate_stream as to_responses

        return to_responses
    return _translate_stream


def _side_converter(kind: Kind, run: TranslateRun) -> Callable[[Any, str], Any]:
    if run.options.side == "anthropic":
        from protoshift.cli.translate.from_anthropic import converter

        return converter(kind, run)
    if run.options.side == "responses":
        from protoshift.cli.translate.from_responses import converter as responses_converter

        return responses_converter(kind, run)
    return _converter(kind, run)


def _converter(kind: Kind, run: TranslateRun) -> Callable[[Any, str], Any]:
    options = run.options
    if kind == "response":
        return lambda value, where: anthropic_to_openai.response(value)

    from protoshift.cli.settings import model_table

    models = model_table()
    kwargs = {} if options.default_max_tokens is None else {"default_max_tokens": options.default_max_tokens}

    return run.request_converter(
        lambda value: openai_to_anthropic.request(value, strict=options.strict, models=models, **kwargs)
    )


def _translate_stream(source: Source, out: IO[bytes], run: TranslateRun) -> int:
    from protoshift.cli.settings import max_event_size
    from protoshift.translator.sse import (  # its JSON costs start-up
        JSONEventDecoder,
        SSEDataError,
        encode_chunk,
        encode_done,
    )

    decoder = JSONEventDecoder(max_event_size=max_event_size())
    translator = anthropic_to_openai.Stream(include_usage=run.options.include_usage)
    try:
        for event in decoded_events(decoder, source, out):
            for chunk in translator.feed(event):
                out.write(encode_chunk(chunk))
        translator.close()
    except SSEDataError as exc:
        out.flush()
        raise InputError(f"{source.name}: {exc}") from None
    except TranslationError as exc:  # an event that is not what the protocol says
        out.flush()
        raise InputError(f"{source.name}: an invalid event: {exc}") from None
    except UpstreamStreamError as exc:
        out.flush()
        raise CLIError(f"{source.name}: the stream ended with an error event: {exc}", PROVIDER_FAILED) from None
    except IncompleteStreamError as exc:
        out.flush()
        raise CLIError(f"{source.name}: {exc.reason}: the answer is cut", PROVIDER_FAILED) from None
    out.write(encode_done())
    out.flush()
    return OK


def _report(run: TranslateRun) -> None:
    for (path, action, reason), count in sorted(run.note_counts.items()):
        lines = "line" if count == 1 else "lines"
        run.diag.warn(f"note: {path}: {action} on {count} {lines}: {reason}")
    if run.explained:
        from protoshift.cli.translate.explain import print_explain_table

        print_explain_table(run.explained, run.diag.stream)
