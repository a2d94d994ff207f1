"""`protoshift translate batch-input|batch-results`: offline, nothing sent."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from tests.batch.conftest import batch_line, read_jsonl, write_jsonl
from tests.fakes import anthropic_message
from tests.oracles import assert_valid_anthropic_body, assert_valid_completion

SAFE = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")


def test_batch_input_then_results_round_trip_ids(run_cli: Any, tmp_path: Path) -> None:
    ids = ["ok-1", "has space", "ünïcödé", "z" * 80]
    source = write_jsonl(tmp_path / "in.jsonl", [batch_line(cid, f"about {cid}", stream=True) for cid in ids])
    body_file, id_map = tmp_path / "requests.json", tmp_path / "ids.json"
    done = run_cli("translate", "batch-input", str(source), "-o", str(body_file), "--id-map", str(id_map))
    assert done.returncode == 0, done.stderr.decode()
    requests = json.loads(body_file.read_text())["requests"]
    assert len(requests) == 4
    for request in requests:
        assert SAFE.match(request["custom_id"])
        assert "stream" not in request["params"]
        assert_valid_anthropic_body(request["params"])
    mapping = json.loads(id_map.read_text())
    assert sorted(mapping.values()) == sorted(ids[1:])  # the safe one needs no entry

    results = tmp_path / "results.jsonl"
    lines = [
        {"custom_id": r["custom_id"], "result": {"type": "succeeded", "message": anthropic_message(f"re {n}")}}
        for n, r in enumerate(requests[:3])
    ]
    lines.append({"custom_id": requests[3]["custom_id"], "result": {"type": "canceled"}})
    write_jsonl(results, lines)
    converted = run_cli("translate", "batch-results", str(results), "--id-map", str(id_map))
    assert converted.returncode == 0, converted.stderr.decode()
    out = [json.loads(line) for line in converted.stdout.splitlines()]
    assert [line["custom_id"] for line in out] == ids
    for line in out[:3]:
        assert_valid_completion(line["response"]["body"])
    assert out[3]["error"]["code"] == "canceled" and out[3]["response"] is None


def test_batch_input_reports_bad_lines_and_writes_nothing(run_cli: Any, tmp_path: Path) -> None:
    source = tmp_path / "in.jsonl"
    source.write_text(json.dumps(batch_line("a", "x")) + "\nnot json\n" + json.dumps(batch_line("a", "y")) + "\n")
    out = tmp_path / "requests.json"
    done = run_cli("translate", "batch-input", str(source), "-o", str(out))
    assert done.returncode == 2
    assert f"{source}:2: invalid JSON".encode() in done.stderr
    assert f"{source}:3: custom_id 'a' is already used on line 1".encode() in done.stderr
    assert not out.exists()


def test_batch_input_from_stdin_with_model(run_cli: Any) -> None:
    line = json.dumps({"messages": [{"role": "user", "content": "hi"}]})
    done = run_cli("translate", "batch-input", "-m", "claude-x", input=line + "\n")
    assert done.returncode == 0, done.stderr.decode()
    assert json.loads(done.stdout) == {
        "requests": [
            {
                "custom_id": "1",
                "params": {
                    "model": "claude-x",
                    "max_tokens": 8192,
                    "messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}]}],
                },
            }
        ]
    }


def test_batch_results_bad_line(run_cli: Any, tmp_path: Path) -> None:
    results = tmp_path / "r.jsonl"
    results.write_text(
        '{"custom_id": "a", "result": {"type": "expired"}}\n{"custom_id": "b", "result": {"type": "??"}}\n'
    )
    done = run_cli("translate", "batch-results", str(results))
    assert done.returncode == 2
    assert f"{results}:2: result.type".encode() in done.stderr
    assert [line["custom_id"] for line in read_jsonl_bytes(done.stdout)] == ["a"]


def read_jsonl_bytes(data: bytes) -> list[dict[str, Any]]:
    return [json.loads(line) for line in data.splitlines() if line.strip()]


__all__ = ["read_jsonl"]
