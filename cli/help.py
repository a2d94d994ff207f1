"""How `--help` reads, for every command alike: the terminal's whole width, each option's default
once and in one form (`[default: 600]`), no range notation (a value out of range is refused with
its own message), and examples at the end, as written. The examples themselves are in `EXAMPLES`,
one entry per command; tests/cli/test_help.py runs each one's options through the command's parser.

Imported at start-up (the commands are declared with these classes): typer only.
"""

from __future__ import annotations

import re
from typing import Any

from typer.core import TyperCommand, TyperGroup

__all__ = ["EXAMPLES", "HELP_WIDTH", "Command", "Group", "described"]

# click wraps help at 80 columns unless told: as wide as the terminal, up to this (a line longer is
# harder to read than a wrapped one).
HELP_WIDTH = 200

_EXTRA = re.compile(r"  \[([^\[\]]*)\]$")  # click's trailing `  [default: x; x>=0; required]`
_RANGE = re.compile(r"(-?[\d.]+[<>]=?)?x([<>]=?-?[\d.]+)?")  # `x>=0`, `1<=x<=5`


def _tidy(help_text: str) -> str:
    """An option's help with at most one bracket, `[default: X]`: click's range notation dropped,
    its `(X)` for a described default and its `30.0` for a float that is whole written plainly."""
    found = _EXTRA.search(help_text)
    if found is None:
        return help_text
    kept = []
    for item in found.group(1).split("; "):
        if _RANGE.fullmatch(item.replace(" ", "")):
            continue
        if item.startswith("default: "):
            value = item.removeprefix("default: ")
            value = value[1:-1] if value.startswith("(") and value.endswith(")") else value
            kept.append("default: " + re.sub(r"^(\d+)\.0$", r"\1", value))
        else:
            kept.append(item)
    text = help_text[: found.start()]
    return f"{text}  [{'; '.join(kept)}]" if kept else text


def _write_examples(epilog: str | None, formatter: Any) -> None:
    """The examples as written, one a line (click would rewrap them as a paragraph)."""
    if not epilog:
        return
    with formatter.section("Examples"):
        for line in epilog.strip("\n").splitlines():
            formatter.write(f"{' ' * formatter.current_indent}{line}\n" if line else "\n")


class Command(TyperCommand):
    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        try:
            return super().parse_args(ctx, args)
        except Exception as exc:  # click's "option '-p' requires an argument" comes with no context:
            if getattr(exc, "ctx", False) is None:  # give it this command's, so the hint names it
                exc.ctx = ctx  # type: ignore[attr-defined]
            raise

    def format_options(self, ctx: Any, formatter: Any) -> None:
        arguments: list[tuple[str, str]] = []
        options: list[tuple[str, str]] = []
        for param in self.get_params(ctx):
            record = param.get_help_record(ctx)
            if record is None:
                continue
            name, text = record
            (arguments if param.param_type_name == "argument" else options).append((name, _tidy(text)))
        for title, records in (("Arguments", arguments), ("Options", options)):
            if records:
                with formatter.section(title):
                    formatter.write_dl(records)

    def format_epilog(self, ctx: Any, formatter: Any) -> None:
        _write_examples(self.epilog, formatter)


class Group(TyperGroup):
    def format_options(self, ctx: Any, formatter: Any) -> None:
        Command.format_options(self, ctx, formatter)  # type: ignore[arg-type]
        self.format_commands(ctx, formatter)

    def format_epilog(self, ctx: Any, formatter: Any) -> None:
        _write_examples(self.epilog, formatter)


def described(path: str) -> dict[str, Any]:
    """What `app.command(...)` takes for the command at `path` ("batch run"): the help classes, its
    line in its group's list, its examples."""
    short, examples = EXAMPLES[path]
    return {"cls": Group if path in GROUPS else Command, "short_help": short, "epilog": examples}


GROUPS = frozenset({"", "translate", "batch", "aliases", "keys"})

# command -> (its line in the list of its group, examples). Every example's options are checked
# against the command's own (tests/cli/test_help.py).
EXAMPLES: dict[str, tuple[str, str]] = {
    "": (
        "",
        """
protoshift chat -p "Why is the sky blue?"               # an answer (on a terminal, no -p: a chat session)
protoshift chat -b mock --stream examples/hello.json    # offline, with the mock backend
protoshift serve                                        # OpenAI and Anthropic APIs on 127.0.0.1:8080
protoshift translate request examples/tools.json        # an OpenAI request as Anthropic's body, offline
protoshift COMMAND --help                               # a command's options, and examples
""",
    ),
    "chat": (
        "Ask a model: one answer, or a chat session on a terminal.",
        """
protoshift chat -p "Why is the sky blue?"
cat notes.md | protoshift chat -p "Summarize:"               # -p first, then the piped text
protoshift chat examples/tools.json --json | jq .choices[0].message
protoshift chat -c -p "Shorter, please"                      # continue the latest conversation
protoshift chat -b openai --base-url http://127.0.0.1:11434/v1 -m llama3.2 -p hi
protoshift chat -p "Be creative" -O temperature 0.9 -O max_completion_tokens 200
while read -r q; do protoshift chat --no-stdin -p "$q"; done < questions.txt
protoshift chat -i                                           # a chat session
""",
    ),
    "serve": (
        "Serve the OpenAI and Anthropic APIs in front of the backend.",
        """
protoshift serve                                             # http://127.0.0.1:8080/v1
protoshift serve -b openai --base-url http://127.0.0.1:11434/v1   # Claude Code on a local model
protoshift serve --host 0.0.0.0 --api-key "$SERVER_KEY" -w 4 --request-log requests.jsonl
""",
    ),
    "logs": (
        "The log of chat exchanges; where -c and --cid pick up.",
        """
protoshift logs                                              # the 10 newest exchanges
protoshift logs -n 3 --search rivers
protoshift logs --cid 3fa29b --json | jq .response
""",
    ),
    "models": (
        "The models the backend offers, then your aliases.",
        """
protoshift models
protoshift models -b openai --base-url http://127.0.0.1:11434/v1 --json
""",
    ),
    "translate": (
        "Translate requests, answers and streams offline.",
        """
protoshift translate request examples/hello.json
protoshift translate response examples/anthropic-message.json
protoshift translate stream --include-usage examples/anthropic-stream.sse
""",
    ),
    "translate request": (
        "An OpenAI request as the body Anthropic takes (or back).",
        """
protoshift translate request examples/hello.json
protoshift translate request --explain examples/tools.json > /dev/null   # what happened to each field
protoshift translate request --jsonl examples/requests-bad.jsonl -o bodies.jsonl
protoshift translate request --from anthropic -m gpt-4o claude-request.json
""",
    ),
    "translate response": (
        "An Anthropic message as a chat.completion (or back).",
        """
protoshift translate response examples/anthropic-message.json
protoshift translate response --from anthropic completion.json
""",
    ),
    "translate stream": (
        "An Anthropic SSE stream as OpenAI's, live (or back).",
        """
protoshift translate stream --include-usage examples/anthropic-stream.sse
curl -sN ... | protoshift translate stream
""",
    ),
    "translate batch-input": (
        "OpenAI batch input as a Message Batches body.",
        """
protoshift translate batch-input examples/requests.jsonl -o batch.json --id-map ids.json
""",
    ),
    "translate batch-results": (
        "Message Batches results as OpenAI Batch output lines.",
        """
protoshift translate batch-results examples/anthropic-batch-results.jsonl -o output.jsonl
""",
    ),
    "batch": (
        "Whole JSONL files of requests: here, or as Message Batches.",
        """
protoshift batch run examples/requests.jsonl -o results.jsonl -j 32
protoshift batch submit examples/requests.jsonl
""",
    ),
    "batch run": (
        "Run every line of a JSONL file here, N at a time.",
        """
protoshift batch run examples/requests.jsonl -o results.jsonl -j 32
protoshift batch run examples/requests.jsonl -o results.jsonl --resume    # after a crash
protoshift batch run examples/requests-bad.jsonl --validate-only
""",
    ),
    "batch submit": (
        "Create Anthropic Message Batches from a JSONL file.",
        """
protoshift batch submit examples/requests.jsonl
""",
    ),
    "batch status": (
        "A Message Batch's status (--wait: until it ends).",
        """
protoshift batch status msgbatch_01abc --wait
""",
    ),
    "batch results": (
        "An ended Message Batch's results as OpenAI Batch lines.",
        """
protoshift batch results msgbatch_01abc -o results.jsonl
""",
    ),
    "batch cancel": (
        "Cancel a Message Batch.",
        """
protoshift batch cancel msgbatch_01abc
""",
    ),
    "batch list": (
        "Your Message Batches, newest first.",
        """
protoshift batch list -n 5
""",
    ),
    "aliases": (
        "Model aliases for chat -m and serve: list, set, remove.",
        """
protoshift aliases
protoshift aliases set fast claude-haiku-4-5
protoshift aliases set "gpt-*" anthropic:claude-sonnet-5-5
protoshift aliases remove fast
""",
    ),
    "aliases list": (
        "Every alias, as NAME -> MODEL.",
        """
protoshift aliases list --json
""",
    ),
    "aliases set": (
        "Make NAME stand for MODEL.",
        """
protoshift aliases set 4o openai:gpt-4o
""",
    ),
    "aliases remove": (
        "Remove an alias.",
        """
protoshift aliases remove 4o
""",
    ),
    "keys": (
        "The gateway's client keys, each with its limits: add, list, remove, usage.",
        """
protoshift keys add alice --rpm 60 --tpm 100000 --budget 20 --period month
protoshift keys add ci --models "claude-haiku-*" --state redis://redis:6379/0
protoshift keys list
protoshift keys usage alice --json
protoshift keys remove alice
""",
    ),
    "keys add": (
        "Make a client key NAME with its limits; print it once.",
        """
protoshift keys add alice --rpm 60 --tpm 100000
protoshift keys add team --budget 50 --period month --models "gpt-*" --models "claude-*"
""",
    ),
    "keys list": (
        "Every client key: its name and limits (never the key).",
        """
protoshift keys list --json
""",
    ),
    "keys remove": (
        "Remove a client key: servers refuse it within a second.",
        """
protoshift keys remove alice
""",
    ),
    "keys usage": (
        "Requests, tokens and spend of each key today and this month.",
        """
protoshift keys usage
protoshift keys usage alice --json
""",
    ),
}
