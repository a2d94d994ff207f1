"""`protoshift batch submit|status|results|cancel|list` against a fake Message Batches API."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from tests.batch.conftest import batch_line, read_jsonl, write_jsonl
from tests.batch.fake_batches import FakeBatchesAPI
from tests.fakes import FakeServer, Received, Reply
from tests.oracles import assert_valid_anthropic_body, assert_valid_completion

SAFE = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
ODD_IDS = ["plain-1", "with space", "résumé n°2", "日本語のID", "x" * 70, "slash/and:colon", "plain_2"]


def _env(server: FakeServer) -> dict[str, str]:
    return {"ANTHROPIC_BASE_URL": server.url, "ANTHROPIC_API_KEY": "sk-ant-test-key"}


def _input(tmp_path: Path) -> Path:
    lines = [batch_line(cid, f"tell me about {cid}") for cid in ODD_IDS]
    lines.append(batch_line("will fail", "please fail"))
    lines.append(batch_line("will expire", "please expire"))
    return write_jsonl(tmp_path / "in.jsonl", lines)


def test_submit_wait_results_maps_ids_back(run_cli: Any, tmp_path: Path) -> None:
    api = FakeBatchesAPI(polls_to_end=3, overloaded_first_retrieve=True)
    source = _input(tmp_path)
    out = tmp_path / "results.jsonl"
    with FakeServer(api) as server:
        env = _env(server)
        submitted = run_cli("batch", "submit", str(source), "-m", "claude-batch", env=env)
        assert submitted.returncode == 0, submitted.stderr.decode()
        batch_ids = submitted.stdout.decode().split()
        assert batch_ids == ["msgbatch_0001"]

        status = run_cli("batch", "status", batch_ids[0], "--wait", "--poll-interval", "0.05", env=env)
        assert status.returncode == 0, status.stderr.decode()
        batch = json.loads(status.stdout)
        assert batch["processing_status"] == "ended"
        assert batch["request_counts"]["succeeded"] == len(ODD_IDS)

        results = run_cli("batch", "results", batch_ids[0], "-o", str(out), env=env)
        assert results.returncode == 3, results.stderr.decode()  # one errored, one expired

    created = api.batches["msgbatch_0001"]
    sent_ids = [request["custom_id"] for request in created.requests]
    assert all(SAFE.match(cid) for cid in sent_ids), sent_ids
    assert len(set(sent_ids)) == len(sent_ids)
    assert "plain-1" in sent_ids and "plain_2" in sent_ids  # safe ids are sent as they are
    for request in created.requests:
        assert set(request) == {"custom_id", "params"}
        assert request["params"]["model"] == "claude-batch"
        assert "stream" not in request["params"]
        assert_valid_anthropic_body(request["params"])
    assert created.headers["anthropic-version"] == "2023-06-01"
    assert api.calls.count(("GET", "/v1/messages/batches/msgbatch_0001")) >= 4  # polled, one 529 retried

    lines = read_jsonl(out)
    by_id = {line["custom_id"]: line for line in lines}
    assert sorted(by_id) == sorted([*ODD_IDS, "will fail", "will expire"])
    assert len(lines) == len(by_id)
    for cid in ODD_IDS:
        line = by_id[cid]
        assert line["error"] is None and line["response"]["status_code"] == 200
        completion = assert_valid_completion(line["response"]["body"])
        assert completion.choices[0].message.content == f"echo: tell me about {cid}"
    assert by_id["will fail"]["response"] is None
    assert by_id["will fail"]["error"]["code"] == "invalid_request_error"
    assert "failed on purpose" in by_id["will fail"]["error"]["message"]
    assert by_id["will expire"]["error"]["code"] == "expired"
    assert "sk-ant-test-key" not in (submitted.stderr + status.stderr + results.stderr).decode()


def test_submit_splits_at_the_request_limit(run_cli: Any, tmp_path: Path, cli_env: dict[str, str]) -> None:
    api = FakeBatchesAPI(polls_to_end=0)
    source = _input(tmp_path)  # 9 requests
    with FakeServer(api) as server:
        env = _env(server)
        submitted = run_cli("batch", "submit", str(source), "--max-requests-per-batch", "4", env=env)
        assert submitted.returncode == 0, submitted.stderr.decode()
        batch_ids = submitted.stdout.decode().split()
        assert batch_ids == ["msgbatch_0001", "msgbatch_0002", "msgbatch_0003"]
        assert [len(api.batches[b].requests) for b in batch_ids] == [4, 4, 1]
        manifests = sorted(p.name for p in (Path(cli_env["XDG_STATE_HOME"]) / "protoshift" / "batches").iterdir())
        assert manifests == [f"{b}.json" for b in batch_ids]
        seen: list[str] = []
        for batch_id in batch_ids:
            out = tmp_path / f"{batch_id}.jsonl"
            results = run_cli("batch", "results", batch_id, "-o", str(out), env=env)
            assert results.returncode in (0, 3), results.stderr.decode()
            seen += [line["custom_id"] for line in read_jsonl(out)]
    assert sorted(seen) == sorted([*ODD_IDS, "will fail", "will expire"])


def test_submit_splits_at_the_size_limit(run_cli: Any, tmp_path: Path) -> None:
    api = FakeBatchesAPI(polls_to_end=0)
    source = write_jsonl(tmp_path / "in.jsonl", [batch_line(f"r{n}", "x" * 600) for n in range(6)])
    with FakeServer(api) as server:
        submitted = run_cli("batch", "submit", str(source), "--max-batch-bytes", "2048", env=_env(server))
    assert submitted.returncode == 0, submitted.stderr.decode()
    sizes = [len(json.dumps({"requests": b.requests})) for b in api.batches.values()]
    assert len(sizes) >= 3 and all(size <= 2048 for size in sizes)
    assert sum(len(b.requests) for b in api.batches.values()) == 6


def test_submit_checks_everything_first(run_cli: Any, tmp_path: Path) -> None:
    api = FakeBatchesAPI()
    source = tmp_path / "in.jsonl"
    source.write_text(json.dumps(batch_line("a", "ok")) + "\n" + json.dumps(batch_line("a", "dup")) + "\n{\n")
    with FakeServer(api) as server:
        done = run_cli("batch", "submit", str(source), env=_env(server))
    assert done.returncode == 2
    assert f"{source}:2: custom_id 'a' is already used on line 1".encode() in done.stderr
    assert f"{source}:3: invalid JSON".encode() in done.stderr
    assert api.calls == [] and done.stdout == b""


def test_cancel_then_results_are_canceled_lines(run_cli: Any, tmp_path: Path) -> None:
    api = FakeBatchesAPI(polls_to_end=100)
    source = _input(tmp_path)
    out = tmp_path / "out.jsonl"
    with FakeServer(api) as server:
        env = _env(server)
        batch_id = run_cli("batch", "submit", str(source), env=env).stdout.decode().strip()
        early = run_cli("batch", "results", batch_id, "-o", str(out), env=env)
        assert early.returncode == 2 and b"--wait" in early.stderr and not out.exists()
        canceled = run_cli("batch", "cancel", batch_id, env=env)
        assert canceled.returncode == 0, canceled.stderr.decode()
        assert json.loads(canceled.stdout)["processing_status"] == "canceling"
        results = run_cli("batch", "results", batch_id, "-o", str(out), env=env)
    assert results.returncode == 3
    lines = read_jsonl(out)
    assert sorted(line["custom_id"] for line in lines) == sorted([*ODD_IDS, "will fail", "will expire"])
    assert {line["error"]["code"] for line in lines} == {"canceled"}


def test_list_pages_through_batches(run_cli: Any, tmp_path: Path) -> None:
    api = FakeBatchesAPI(page_size=1)
    source = write_jsonl(tmp_path / "in.jsonl", [batch_line("a", "hi")])
    with FakeServer(api) as server:
        env = _env(server)
        submitted = run_cli("batch", "submit", str(source), "--max-requests-per-batch", "1", env=env)
        assert submitted.returncode == 0
        submitted = run_cli("batch", "submit", str(source), "-q", env=env)
        assert submitted.returncode == 0
        listed = run_cli("batch", "list", "--limit", "2", env=env)
        everything = run_cli("batch", "list", env=env)
    assert listed.returncode == 0, listed.stderr.decode()
    assert [json.loads(line)["id"] for line in listed.stdout.splitlines()] == ["msgbatch_0002", "msgbatch_0001"]
    assert len(everything.stdout.splitlines()) == 2
    assert api.calls.count(("GET", "/v1/messages/batches?limit=2")) == 1  # then a second page after_id


def test_batches_need_the_anthropic_backend_and_a_key(run_cli: Any, tmp_path: Path) -> None:
    source = write_jsonl(tmp_path / "in.jsonl", [batch_line("a", "hi")])
    no_key = run_cli("batch", "status", "msgbatch_1")
    assert no_key.returncode == 2 and b"ANTHROPIC_API_KEY" in no_key.stderr
    assert b"Traceback" not in no_key.stderr
    with FakeServer(FakeBatchesAPI()) as server:
        missing = run_cli("batch", "status", "msgbatch_nope", env=_env(server))
    assert missing.returncode == 1 and b"404" in missing.stderr
    assert source.exists()


def test_submit_lists_every_problem_and_sends_bodies_right_for_the_model(run_cli: Any, tmp_path: Path) -> None:
    """Message Batches have no second chance: a model that refuses sampling parameters gets none."""
    api = FakeBatchesAPI()
    bad = write_jsonl(
        tmp_path / "bad.jsonl",
        [
            batch_line("a", "x", n=2, tools=[{"type": "function", "function": {"name": "no spaces"}}]),
            batch_line("b", "ok"),
        ],
    )
    with FakeServer(api) as server:
        done = run_cli("batch", "submit", str(bad), env=_env(server))
        assert done.returncode == 2 and api.calls == []
        errors = [line for line in done.stderr.decode().splitlines() if ": body." in line]
        assert [line.split(": ")[3] for line in errors] == ["body.n", "body.tools[0].function.name"]

        good = write_jsonl(tmp_path / "good.jsonl", [batch_line(f"r{k}", "hi", temperature=0.3) for k in range(3)])
        done = run_cli("batch", "submit", str(good), "-m", "claude-opus-4-7", env=_env(server))
        assert done.returncode == 0, done.stderr.decode()
    for request in api.batches["msgbatch_0001"].requests:
        assert request["params"]["model"] == "claude-opus-4-7"
        assert "temperature" not in request["params"]
        assert_valid_anthropic_body(request["params"])
    assert b"temperature: dropped on 3 lines: claude-opus-4-7 takes no sampling parameters" in done.stderr


def test_an_invalid_results_url_is_one_line_not_a_traceback(run_cli: Any) -> None:
    """Issue 9, item 8: httpx.InvalidURL came out as a traceback."""

    def respond(received: Received) -> Reply:
        batch = {
            "id": "msgbatch_bad",
            "type": "message_batch",
            "processing_status": "ended",
            "request_counts": {"processing": 0, "succeeded": 1, "errored": 0, "canceled": 0, "expired": 0},
            "results_url": "http://[::1/v1/messages/batches/msgbatch_bad/results",
        }
        return Reply(body=json.dumps(batch).encode())

    with FakeServer(respond) as server:
        done = run_cli("batch", "results", "msgbatch_bad", env=_env(server))
    assert done.returncode == 1, done.stderr.decode()
    assert "Traceback" not in done.stderr.decode()
    first = done.stderr.decode().splitlines()[-2]
    assert first.startswith(
        "protoshift: error: anthropic: the provider sent an invalid results_url for batch msgbatch_bad"
    )


def test_waiting_for_a_batch_is_bounded_by_max_wait(run_cli: Any, tmp_path: Path) -> None:
    """A batch that never ends (or a fake that never says so) does not keep `--wait` polling for ever."""
    api = FakeBatchesAPI(polls_to_end=1_000_000)
    with FakeServer(api) as server:
        env = _env(server)
        submitted = run_cli("batch", "submit", str(_input(tmp_path)), "-m", "claude-batch", env=env)
        [batch_id] = submitted.stdout.decode().split()
        waited = run_cli("batch", "status", batch_id, "--wait", "--poll-interval", "0.05", "--max-wait", "0.3", env=env)
    assert waited.returncode == 1
    lines = waited.stderr.decode().strip().splitlines()
    assert any(f"{batch_id} is still in_progress after 0.3s of waiting" in line for line in lines), lines
    assert any(f"protoshift batch status {batch_id} --wait" in line for line in lines), lines
    assert waited.stdout == b"", "no batch object is printed for a wait that gave up"
    polls = [r for r in server.requests if r.method == "GET"]
    assert 1 <= len(polls) < 1_000  # it polled, and it stopped
