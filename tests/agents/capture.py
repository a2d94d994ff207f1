"""What Codex CLI sends, captured and redacted: fixtures/codex_request.json, the sample the Responses
surface is tested against. Regenerate it (after changing CODEX_VERSION in codex.py) with

    uv run python -m tests.agents.capture

It runs one `codex exec` session against the fake Responses server — a turn that calls `exec_command`
(after a reasoning item), a turn whose custom `apply_patch` tool adds a file, a closing answer — and
one first turn with a model name Codex has no metadata for (as with a gateway alias such as
`claude-sonnet-4-5`), and writes every request as it arrived: method, path, headers, body. Redacted:
the key, ids (UUIDs, installation id), temporary paths, dates, timings, the host's port and OS.
test_codex_fake.py checks that the pinned Codex still sends what the fixture says (tools, fields,
headers, item kinds).
"""

from __future__ import annotations

import json
import re
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.agents.codex import CODEX_VERSION, MODEL, CodexRunner, Tripwire, install_codex
from tests.agents.fake_responses import FakeResponses, Turn, calls, custom_call, function_call, text
from tests.fakes import Received

FIXTURE = Path(__file__).parent / "fixtures" / "codex_request.json"
UNKNOWN_MODEL = "claude-sonnet-4-5"  # a name Codex has no metadata for

SESSION_PROMPT = "Write greeting.txt, then add notes.txt."
SESSION_SCRIPT: tuple[Callable[[], Turn], ...] = (
    lambda: calls(function_call("exec_command", {"cmd": "printf 'hello\\n' > greeting.txt"}), reasoning="Write it."),
    lambda: calls(custom_call("apply_patch", "*** Begin Patch\n*** Add File: notes.txt\n+a note\n*** End Patch\n")),
    lambda: text("Wrote greeting.txt and notes.txt."),
)
DROPPED_HEADERS = {"content-length", "host"}
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


class Redactor:
    """The same value redacts to the same placeholder everywhere (a session id in a header and in the body)."""

    def __init__(self, root: Path, key: str) -> None:
        self.root = str(root)
        self.key = key
        self.uuids: dict[str, str] = {}

    def _uuid(self, match: re.Match[str]) -> str:
        return self.uuids.setdefault(match.group(0), f"00000000-0000-4000-8000-{len(self.uuids) + 1:012d}")

    def text(self, value: str) -> str:
        value = value.replace(self.key, "sk-redacted")
        value = value.replace(self.root, "/tmp/codex-test")
        value = UUID.sub(self._uuid, value)
        value = re.sub(r"<current_date>[^<]*</current_date>", "<current_date>2026-01-01</current_date>", value)
        value = re.sub(r'(\\?"turn_started_at_unix_ms\\?":)\d+', r"\g<1>0", value)
        value = re.sub(r"Chunk ID: \w+", "Chunk ID: 000000", value)
        value = re.sub(r"Wall time: [\d.]+ seconds", "Wall time: 0.0000 seconds", value)
        return re.sub(r"\(([^;()]+); (x86_64|aarch64|arm64)\)", r"(<os>; \2)", value)

    def value(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, list):
            return [self.value(v) for v in value]
        if isinstance(value, dict):
            return {k: self.value(v) for k, v in value.items()}
        return value

    def request(self, received: Received, scenario: str) -> dict[str, Any]:
        headers = {k: self.text(v) for k, v in sorted(received.headers.items()) if k not in DROPPED_HEADERS}
        return {
            "scenario": scenario,
            "method": received.method,
            "path": received.path,
            "headers": headers,
            "body": self.value(received.body),
        }


def capture(runner: CodexRunner, root: Path) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    scenarios = ["first turn", "after exec_command (with a reasoning item)", "after apply_patch (custom tool)"]
    with FakeResponses([make() for make in SESSION_SCRIPT]) as api:
        result = runner.run(SESSION_PROMPT, base_url=api.base_url, api_key=api.key, timeout=120)
        assert result.returncode == 0 and not api.refusals and not api.broken, (
            result.explain(),
            api.refusals,
            api.broken,
        )
        redactor = Redactor(root, api.key)
        out += [redactor.request(r, s) for r, s in zip(api.turns, scenarios, strict=True)]
    with FakeResponses([text("Hello.")]) as api:
        result = runner.run("Say hello.", base_url=api.base_url, api_key=api.key, timeout=120, model=UNKNOWN_MODEL)
        assert result.returncode == 0 and not api.refusals, result.explain()
        redactor = Redactor(root, api.key)
        out.append(redactor.request(api.turns[0], f"first turn, model unknown to Codex ({UNKNOWN_MODEL})"))
    return out


def main() -> None:
    command = install_codex()
    with tempfile.TemporaryDirectory(prefix="codex-capture-") as tmp, Tripwire() as tripwire:
        root = Path(tmp)
        requests = capture(CodexRunner(command, root, tripwire), root)
        assert not tripwire.hits, tripwire.hits
    document = {
        "captured_with": f"@openai/codex {CODEX_VERSION}, `codex exec --json`, model {MODEL!r}, a model_providers "
        'entry with wire_api = "responses" (tests/agents/codex.py), against tests/agents/fake_responses.py',
        "regenerate": "uv run python -m tests.agents.capture",
        "redacted": "the key (sk-redacted), UUIDs (00000000-0000-4000-8000-N, the same value the same N), "
        "temporary paths (/tmp/codex-test), the date, timings, chunk ids, the OS in user-agent; "
        "dropped: host, content-length",
        "requests": requests,
    }
    FIXTURE.parent.mkdir(exist_ok=True)
    FIXTURE.write_text(json.dumps(document, indent=1, ensure_ascii=False) + "\n")
    print(f"wrote {FIXTURE} ({FIXTURE.stat().st_size} bytes, {len(requests)} requests)")


if __name__ == "__main__":
    main()
