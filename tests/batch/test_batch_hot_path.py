"""batch run's hot path (issue 11): each line translated once, custom_ids kept as fingerprints."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pytest

from protoshift.cli.batch.ids import IdSet
from protoshift.cli.runner import main
from protoshift.translator import openai_to_anthropic
from tests.batch.conftest import batch_line, read_jsonl, user_text, write_jsonl
from tests.fakes import FakeServer, Received, Reply, anthropic_message_reply
from tests.oracles import assert_valid_anthropic_body


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("ANTHROPIC_BASE_URL", "ANTHROPIC_API_KEY", "PROTOSHIFT_BACKEND", "PROTOSHIFT_MODEL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test-key")


def _counting(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts every openai_to_anthropic.request call, wherever batch run or the backend makes it (both
    call it through the module: one patch counts both)."""
    calls = [0]
    lock = threading.Lock()
    request = openai_to_anthropic.request

    def counted(*args: Any, **kwargs: Any) -> Any:
        with lock:
            calls[0] += 1
        return request(*args, **kwargs)

    monkeypatch.setattr(openai_to_anthropic, "request", counted)
    return calls


def _echo(received: Received) -> Reply:
    return anthropic_message_reply(f"re: {user_text(received.json)}")


def test_each_line_is_translated_once_and_sent_as_translated(
    env: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    calls = _counting(monkeypatch)
    lines = [batch_line(f"id-{n}", f"question {n}", temperature=0.5, stop=["END"]) for n in range(40)]
    source, out = write_jsonl(tmp_path / "in.jsonl", lines), tmp_path / "out.jsonl"
    with FakeServer(_echo) as server:
        monkeypatch.setenv("ANTHROPIC_BASE_URL", server.url)
        assert main(["batch", "run", str(source), "-o", str(out), "-j", "8"]) == 0
    assert calls[0] == len(lines)  # the check pass's translation is the one sent
    results = {line["custom_id"]: line for line in read_jsonl(out)}
    assert len(results) == len(lines)
    for n in range(40):
        choice = results[f"id-{n}"]["response"]["body"]["choices"][0]
        assert choice["message"]["content"] == f"re: question {n}"
    sent = sorted(server.requests, key=lambda r: int(user_text(r.json).split()[-1]))
    assert sent[0].json == openai_to_anthropic.request(lines[0]["body"]).body  # exactly what translation makes
    for received in sent:
        assert_valid_anthropic_body(received.json)
        assert received.headers["content-type"] == "application/json"


def test_with_a_fallback_the_send_pass_reads_the_input_again(
    env: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    calls = _counting(monkeypatch)
    lines = [batch_line(f"id-{n}", f"question {n}") for n in range(5)]
    source, out = write_jsonl(tmp_path / "in.jsonl", lines), tmp_path / "out.jsonl"
    with FakeServer(_echo) as server:
        monkeypatch.setenv("ANTHROPIC_BASE_URL", server.url)
        argv = ["batch", "run", str(source), "-o", str(out), "--fallback", "anthropic:claude-other"]
        assert main(argv) == 0
    assert calls[0] == 2 * len(lines)  # checked, then translated again by the chain's backend
    assert {line["custom_id"] for line in read_jsonl(out)} == {f"id-{n}" for n in range(5)}


def test_a_resumed_run_sends_only_what_is_missing(env: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    lines = [batch_line(f"id-{n}", f"question {n}") for n in range(6)]
    source, out = write_jsonl(tmp_path / "in.jsonl", lines), tmp_path / "out.jsonl"
    with FakeServer(_echo) as server:
        monkeypatch.setenv("ANTHROPIC_BASE_URL", server.url)
        assert main(["batch", "run", str(source), "-o", str(out)]) == 0
        kept = read_jsonl(out)[:2]
        out.write_text("".join(json.dumps(line) + "\n" for line in kept))
        server.requests.clear()
        assert main(["batch", "run", str(source), "-o", str(out), "--resume"]) == 0
    assert len(server.requests) == 4
    assert sorted(line["custom_id"] for line in read_jsonl(out)) == sorted(f"id-{n}" for n in range(6))


def test_duplicates_past_the_shown_ones_are_counted(
    env: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = [batch_line("same", f"question {n}") for n in range(30)]
    source = write_jsonl(tmp_path / "in.jsonl", lines)
    assert main(["batch", "run", str(source), "-o", str(tmp_path / "out.jsonl")]) == 2
    err = capsys.readouterr().err
    assert f"{source}:2: custom_id 'same' is already used on line 1" in err
    # every problem has its line; past the first 20 the earlier line is not looked up (a rescan each)
    assert f"{source}:30: custom_id 'same' is already used on an earlier line" in err
    assert err.count("is already used") == 29 and "29 invalid lines; nothing was sent" in err


# -- IdSet ------------------------------------------------------------------------------------------


def test_id_set_holds_many_ids_of_any_length() -> None:
    ids = IdSet()
    names = [f"request-{n}" * (n % 7 + 1) for n in range(50_000)]
    assert all(ids.add(name) for name in names)
    assert len(ids) == len(names)
    assert all(name in ids for name in names)
    assert not any(f"other-{n}" in ids for n in range(5_000))
    assert not ids.add(names[123]) and len(ids) == len(names)
    assert "" not in ids and ids.add("") and "" in ids


def test_id_set_keep_only_forgets_what_the_other_lacks() -> None:
    done = IdSet(f"id-{n}" for n in range(100))
    done.keep_only(IdSet(f"id-{n}" for n in range(50, 3000)))
    assert len(done) == 50
    assert "id-49" not in done and "id-50" in done and "id-99" in done
    assert not IdSet() and IdSet(["x"])
