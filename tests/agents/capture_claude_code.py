"""What Claude Code sends, captured and redacted: fixtures/claude_code_*.json, the samples the gateway's
Anthropic surface is tested against. Regenerate them (after changing CLAUDE_CODE_VERSION) with

    uv run python -m tests.agents.capture_claude_code

Each file holds every request of a few `claude -p` runs against the fake Anthropic server
(fake_anthropic.py), as they arrived: method, path, headers, body.

- claude_code_session.json: a session with a model name Claude Code does not know (a gateway alias,
  GATEWAY_MODEL), with gateway model discovery on: `GET /v1/models?limit=1000`, a turn answered with
  signed thinking and a `Write`, a turn answered with two parallel tool uses (`Write` and `Bash`), a
  closing answer.
- claude_code_first_turns.json: the first request with Claude Code's default model (no --model), with
  a model it knows (MODEL), and with the key as ANTHROPIC_AUTH_TOKEN (`authorization: Bearer`).
- claude_code_context.json: the `count_tokens` requests of `/context`.
- claude_code_failures.json: a 429 (retry-after 1) then an answer; a stream cut midway then an answer;
  a stream that ends in `event: error` then an answer.

Redacted: the key, UUIDs, the device id, temporary paths, the date, the kernel version; dropped: host,
content-length. A `system`, `tools` or `messages` value equal to one earlier in the same file is
written as {"$same_as": "requests[N].body.KEY"}.
"""

from __future__ import annotations

import json
import re
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.agents import fake_anthropic as fa
from tests.agents.claude_code import (
    CLAUDE_CODE_VERSION,
    GATEWAY_MODEL,
    MODEL,
    ClaudeCodeRunner,
    install_claude_code,
)
from tests.agents.codex import Tripwire
from tests.fakes import Received

FIXTURES = Path(__file__).parent / "fixtures"
DROPPED_HEADERS = {"content-length", "host"}
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
DEVICE_ID = re.compile(r'(\\?"device_id\\?":\\?")[0-9a-f]{64}')
SAME_AS_KEYS = ("system", "tools", "messages")

# The session: a Write after signed thinking, then two tools at once, then the answer.
SESSION_PROMPT = "Write hello.txt, then a.txt and b.txt."


def session_script(workdir: Path) -> list[fa.Turn]:
    return [
        fa.tool_uses(fa.tool_use("Write", {"file_path": f"{workdir}/hello.txt", "content": "hello\n"}),
                     thinking="The user wants hello.txt first."),
        fa.tool_uses(fa.tool_use("Write", {"file_path": f"{workdir}/a.txt", "content": "a\n"}),
                     fa.tool_use("Bash", {"command": "echo b > b.txt", "description": "Write b.txt"})),
        fa.text("Wrote hello.txt, a.txt and b.txt."),
    ]  # fmt: skip


class Redactor:
    """The same value redacts to the same placeholder everywhere (a session id in a header and in the body)."""

    def __init__(self, root: Path, key: str) -> None:
        self.root = str(root)
        self.key = key
        self.uuids: dict[str, str] = {}
        self.seen: dict[str, str] = {}  # json of a system/tools/messages value -> where it was first

    def _uuid(self, match: re.Match[str]) -> str:
        return self.uuids.setdefault(match.group(0), f"00000000-0000-4000-8000-{len(self.uuids) + 1:012d}")

    def text(self, value: str) -> str:
        value = value.replace(self.key, "sk-redacted")
        value = value.replace(self.root, "/tmp/claude-code-test")
        # its per-project folders are named after the path, every character but letters and digits a "-"
        value = value.replace(re.sub(r"[^A-Za-z0-9]", "-", self.root), "-tmp-claude-code-test")
        value = UUID.sub(self._uuid, value)
        value = DEVICE_ID.sub(lambda m: m.group(1) + "0" * 64, value)
        value = re.sub(r"Today's date is \d{4}-\d{2}-\d{2}", "Today's date is 2026-01-01", value)
        return re.sub(r"OS Version: Linux [^\n\\]+", "OS Version: Linux <kernel>", value)

    def value(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, list):
            return [self.value(v) for v in value]
        if isinstance(value, dict):
            return {k: self.value(v) for k, v in value.items()}
        return value

    def request(self, received: Received, scenario: str, n: int) -> dict[str, Any]:
        headers = {k: self.text(v) for k, v in sorted(received.headers.items()) if k not in DROPPED_HEADERS}
        body = self.value(received.body)
        if isinstance(body, dict):
            for key in SAME_AS_KEYS:
                if key in body:
                    seen = json.dumps(body[key], sort_keys=True)
                    if seen in self.seen:
                        body[key] = {"$same_as": self.seen[seen]}
                    else:
                        self.seen[seen] = f"requests[{n}].body.{key}"
        return {"scenario": scenario, "method": received.method, "path": received.path, "headers": headers,
                "body": body}  # fmt: skip


def expand(requests: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """`requests` (of one file) with every {"$same_as": "requests[N].body.KEY"} replaced by what it stands for."""
    for request in requests:
        body = request["body"]
        for key, value in list(body.items()) if isinstance(body, dict) else []:
            if isinstance(value, dict) and "$same_as" in value:
                index = int(value["$same_as"].split("[", 1)[1].split("]", 1)[0])
                body[key] = requests[index]["body"][key]
    return requests


def _run(
    runner: ClaudeCodeRunner, script: Callable[[Path], list[fa.Turn]], prompt: str, **options: Any
) -> tuple[fa.FakeAnthropic, Path]:
    workdir = runner.root / f"work{runner.runs + 1}"  # the runner's next working directory
    with fa.FakeAnthropic(script(workdir)) as api:
        result = runner.run(prompt, base_url=api.url, api_key=api.key, timeout=120, **options)
        api.server.wait_connections_closed()
    assert not api.refusals and not api.broken, ([r.error for r in api.refusals], api.broken, result.explain())
    return api, workdir


def capture(runner: ClaudeCodeRunner, root: Path) -> dict[str, list[dict[str, Any]]]:
    files: dict[str, list[dict[str, Any]]] = {}
    redactors: dict[str, Redactor] = {}

    def record(name: str, api: fa.FakeAnthropic, labels: list[str], *, by_body: bool = False) -> None:
        requests = list(api.requests)
        out = files.setdefault(name, [])
        redactor = redactors.setdefault(name, Redactor(root, api.key))
        if by_body:  # sent at once, they arrive in any order: sorted, the file does not change between captures
            requests.sort(key=lambda r: json.dumps(redactor.value(r.body), sort_keys=True))
        assert len(labels) == len(requests), (labels, [r.path for r in requests])
        for received, label in zip(requests, labels, strict=True):
            out.append(redactor.request(received, label, len(out)))

    discovery = {"CLAUDE_CODE_ENABLE_GATEWAY_MODEL_DISCOVERY": "1"}
    api, workdir = _run(runner, session_script, SESSION_PROMPT, model=GATEWAY_MODEL, env=discovery)
    assert (workdir / "hello.txt").read_text() == "hello\n" and (workdir / "b.txt").read_text() == "b\n"
    record("session", api, ["gateway model discovery (CLAUDE_CODE_ENABLE_GATEWAY_MODEL_DISCOVERY=1)",
                            "first turn (answered: signed thinking, then a Write tool_use)",
                            "after the Write (answered: two parallel tool_uses, Write and Bash)",
                            "after the two tools (answered: text)"])  # fmt: skip

    for label, options in (
        ("Claude Code's default model (no --model)", {"model": None}),
        (f"a model it knows ({MODEL})", {"model": MODEL}),
        ("the key as ANTHROPIC_AUTH_TOKEN (authorization: Bearer)", {"model": GATEWAY_MODEL, "bearer": True}),
    ):
        api, _ = _run(runner, lambda _: [fa.text("Hello.")], "Say hello.", **options)
        record("first_turns", api, [f"first turn, {label}"])

    api, _ = _run(runner, lambda _: [], "/context", model=GATEWAY_MODEL)
    sent = len(api.requests)
    record("context", api, [f"/context: count_tokens call {n + 1} of {sent} (sent at once)" for n in range(sent)],
           by_body=True)  # fmt: skip

    retries = {"CLAUDE_CODE_MAX_RETRIES": "2"}
    longer = fa.text("An answer long enough to be cut.", chunks=6)
    for label, first in (
        ("HTTP 429 with retry-after: 1", fa.rate_limited(1)),
        ("the stream cut after 5 events", fa.cut(longer, after=5)),
        ("the stream ended by `event: error` (overloaded_error) after 5 events", fa.stream_error(longer, after=5)),
    ):
        script = [first, fa.text("After.")]
        api, _ = _run(runner, lambda _, script=script: script, "Say something.", model=GATEWAY_MODEL, env=retries)
        record("failures", api, [f"{label}: request {n + 1}" for n in range(len(api.requests))])
    return files


def main() -> None:
    command = install_claude_code()
    with tempfile.TemporaryDirectory(prefix="claude-code-capture-") as tmp, Tripwire() as tripwire:
        root = Path(tmp)
        files = capture(ClaudeCodeRunner(command, root, tripwire), root)
        assert not tripwire.hits, tripwire.hits
    FIXTURES.mkdir(exist_ok=True)
    for name, requests in files.items():
        path = FIXTURES / f"claude_code_{name}.json"
        document = {
            "captured_with": f"@anthropic-ai/claude-code {CLAUDE_CODE_VERSION}, `claude -p ... --output-format "
            "stream-json` (tests/agents/claude_code.py), against tests/agents/fake_anthropic.py",
            "regenerate": "uv run python -m tests.agents.capture_claude_code",
            "redacted": "the key (sk-redacted), UUIDs (00000000-0000-4000-8000-N, the same value the same N), the "
            "device id (zeros), temporary paths (/tmp/claude-code-test), the date, the kernel version; dropped: "
            'host, content-length; a system/tools/messages value seen earlier in this file: {"$same_as": ...}',
            "requests": requests,
        }
        path.write_text(json.dumps(document, indent=1, ensure_ascii=False) + "\n")
        print(f"wrote {path} ({path.stat().st_size} bytes, {len(requests)} requests)")


if __name__ == "__main__":
    main()
