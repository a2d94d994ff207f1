"""`protoshift aliases` edits one table of the config file and keeps the rest as it was; the price table
prices what it knows and nothing else; completion is there and start-up stays light."""

from __future__ import annotations

import json
import stat
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from protoshift.cli.pricing import format_cost
from protoshift.cloud.pricing import BUILTIN, PriceError, PriceTable
from tests.oracles import assert_valid_anthropic_body

from .conftest import PROTOSHIFT, RunCLI

CONFIG = """# my protoshift settings
backend = "anthropic"   # the default anyway
model = "claude-sonnet-4-5"

[aliases]
# for scripts written against OpenAI
"gpt-4o" = "claude-sonnet-4-5"

[anthropic]
base_url = "https://api.anthropic.com"  # keep
"""


def config_file(cli_env: dict[str, str]) -> Path:
    return Path(cli_env["XDG_CONFIG_HOME"]) / "protoshift" / "config.toml"


def test_aliases_set_and_remove_keep_the_rest_of_the_file(run_cli: RunCLI, cli_env: dict[str, str]) -> None:
    path = config_file(cli_env)
    path.parent.mkdir(parents=True)
    path.write_text(CONFIG)
    path.chmod(0o600)
    done = run_cli("aliases", "set", "fast", "anthropic:claude-haiku-4-5")
    assert done.returncode == 0, done.stderr
    assert path.read_text() == CONFIG.replace(
        '"gpt-4o" = "claude-sonnet-4-5"\n', '"gpt-4o" = "claude-sonnet-4-5"\nfast = "anthropic:claude-haiku-4-5"\n'
    )
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert run_cli("aliases", "set", "gpt-4o", "claude-opus-4-5").returncode == 0  # replaced in place
    assert run_cli("aliases").stdout.decode().splitlines() == [
        "gpt-4o -> claude-opus-4-5",
        "fast -> anthropic:claude-haiku-4-5",
    ]
    assert run_cli("aliases", "remove", "fast").returncode == 0
    assert path.read_text() == CONFIG.replace('"claude-sonnet-4-5"\n\n[anthropic]', '"claude-opus-4-5"\n\n[anthropic]')
    missing = run_cli("aliases", "remove", "fast")
    assert missing.returncode == 2 and "no alias 'fast'" in missing.stderr.decode()
    listed = [json.loads(line) for line in run_cli("aliases", "--json").stdout.splitlines()]
    assert listed == [{"alias": "gpt-4o", "model": "claude-opus-4-5", "backend": None}]


def test_aliases_set_creates_a_private_config_and_odd_names_are_quoted(
    run_cli: RunCLI, cli_env: dict[str, str]
) -> None:
    assert run_cli("aliases", "set", 'claude-*"haiku"*', "openai:gpt-4.1-mini").returncode == 0
    path = config_file(cli_env)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert tomllib.loads(path.read_text()) == {"aliases": {'claude-*"haiku"*': "openai:gpt-4.1-mini"}}


def test_an_alias_reaches_chat(run_cli: RunCLI) -> None:
    assert run_cli("aliases", "set", "quick", "claude-haiku-4-5").returncode == 0
    done = run_cli("chat", "--backend", "mock", "--dry-run", "-m", "quick", "-p", "hi")
    body = json.loads(done.stdout)
    assert_valid_anthropic_body(body)
    assert body["model"] == "claude-haiku-4-5"


def test_aliases_defined_another_way_are_not_rewritten(run_cli: RunCLI, cli_env: dict[str, str]) -> None:
    path = config_file(cli_env)
    path.parent.mkdir(parents=True)
    path.write_text('aliases = { "gpt-4o" = "claude-sonnet-4-5" }\n')
    path.chmod(0o600)
    done = run_cli("aliases", "set", "fast", "claude-haiku-4-5")
    assert done.returncode == 2 and "edit it by hand" in done.stderr.decode()
    assert path.read_text() == 'aliases = { "gpt-4o" = "claude-sonnet-4-5" }\n'


def test_a_config_someone_else_can_write_is_not_edited(run_cli: RunCLI, cli_env: dict[str, str]) -> None:
    path = config_file(cli_env)
    path.parent.mkdir(parents=True)
    path.write_text("")
    path.chmod(0o666)
    done = run_cli("aliases", "set", "fast", "claude-haiku-4-5")
    assert done.returncode == 2 and "can be written by" in done.stderr.decode()


# -- prices --------------------------------------------------------------------------------------------


def test_every_builtin_row_is_dated_and_sourced() -> None:
    for row in BUILTIN:
        assert row.checked == "2026-11-30" and row.source.startswith("https://"), row
        assert row.input > 0 and row.output > 0 and row.cache_read is not None


def test_costs_from_openai_shaped_usage() -> None:
    table = PriceTable()
    usage = {"prompt_tokens": 3000, "completion_tokens": 100, "prompt_tokens_details": {"cached_tokens": 2000}}
    assert table.cost("claude-sonnet-4-5-20250929", usage) == pytest.approx((1000 * 3 + 2000 * 0.3 + 100 * 15) / 1e6)
    assert table.cost("gpt-4o-mini", {"prompt_tokens": 1_000_000, "completion_tokens": 0}) == pytest.approx(0.15)
    assert table.cost("gpt-4o-mini-2024-07-18", {"prompt_tokens": 1_000_000}) == pytest.approx(0.15)
    assert table.cost("gpt-4o-audio-preview", {"prompt_tokens": 10}) is None  # not the same prices: not guessed
    assert table.cost("claude-mock-1", {"prompt_tokens": 10}) is None
    assert table.cost("claude-sonnet-4-5", None) is None


def test_haiku_5_5_is_priced_by_prompt_length() -> None:
    table = PriceTable()
    assert table.cost("claude-haiku-5-5", {"prompt_tokens": 100_000}) == pytest.approx(0.01)
    assert table.cost("claude-haiku-5-5", {"prompt_tokens": 100_001}) == pytest.approx(100_001 * 0.5 / 1e6)


def test_config_rows_win_and_are_checked() -> None:
    table = PriceTable({"claude-*": {"input": 1.0, "output": 2.0}}, "config.toml")
    assert table.cost("claude-sonnet-4-5", {"prompt_tokens": 1_000_000, "completion_tokens": 1_000_000}) == 3.0
    assert table.cost("claude-sonnet-4-5", {"prompt_tokens": 10, "prompt_tokens_details": {"cached_tokens": 5}}) is None
    with pytest.raises(PriceError, match="input and output are required"):
        PriceTable({"m": {"input": 1.0}})
    with pytest.raises(PriceError, match="unknown cell 'inptu'"):
        PriceTable({"m": {"inptu": 1.0, "input": 1.0, "output": 1.0}})
    with pytest.raises(PriceError, match="expected a number"):
        PriceTable({"m": {"input": "cheap", "output": 1.0}})


def test_format_cost() -> None:
    assert format_cost(0.0012) == "$0.0012"
    assert format_cost(0.00001) == "<$0.0001"
    assert format_cost(1.5) == "$1.5000"


# -- completion and start-up ----------------------------------------------------------------------------


def test_shell_completion_is_offered(run_cli: RunCLI) -> None:
    help_text = run_cli("--help").stdout.decode()
    assert "--install-completion" in help_text and "--show-completion" in help_text and "--version" in help_text
    script = subprocess.run([PROTOSHIFT, "--show-completion", "bash"], capture_output=True, text=True, timeout=60)
    assert script.returncode == 0 and "_PROTOSHIFT_COMPLETE" in script.stdout


def test_help_imports_neither_the_log_nor_the_price_table() -> None:
    code = (
        "import sys; from protoshift.cli.main import app; "
        "print(','.join(m for m in sys.modules if m.startswith(('protoshift.cli.logs', 'protoshift.cli.pricing', 'protoshift.cloud.pricing',"
        " 'sqlite3', 'protoshift.cli.chat'))))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == ""
