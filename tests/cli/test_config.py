"""Settings: flags > environment > config file > defaults; keys from env, config, or a key command."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

import protoshift.cli.settings as settings_module
from protoshift.cli.exits import InputError
from protoshift.cli.flags import ProviderFlags
from protoshift.cli.settings import Settings, load_config_file, resolve_settings
from protoshift.cloud.kinds import DEFAULT_BACKEND
from tests.fakes import FakeServer, anthropic_message_reply

from .conftest import RunCLI

NO_FLAGS = ProviderFlags()  # nothing given on the command line


@pytest.fixture
def config_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "config.toml"
    monkeypatch.setenv("PROTOSHIFT_CONFIG", str(path))
    for name in ("ANTHROPIC_API_KEY", "OPENAI_API_KEY", "ANTHROPIC_BASE_URL", "OPENAI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    for name in ("BACKEND", "MODEL", "MAX_TOKENS", "TIMEOUT", "MAX_RETRIES", "FALLBACK", "BREAKER"):
        monkeypatch.delenv(f"PROTOSHIFT_{name}", raising=False)
    return path


def test_flags_beat_environment_beats_config_file(config_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config_file.write_text('backend = "openai"\nmodel = "from-file"\nmax_retries = 7\ntimeout = 5\n')
    settings = resolve_settings(NO_FLAGS)
    assert (settings.backend, settings.model, settings.max_retries, settings.timeout) == ("openai", "from-file", 7, 5)

    monkeypatch.setenv("PROTOSHIFT_MODEL", "from-env")
    monkeypatch.setenv("PROTOSHIFT_MAX_RETRIES", "0")
    settings = resolve_settings(NO_FLAGS)
    assert (settings.model, settings.max_retries) == ("from-env", 0)

    settings = resolve_settings(ProviderFlags(model="from-flag", max_retries=3, backend="mock"))
    assert (settings.backend, settings.model, settings.max_retries) == ("mock", "from-flag", 3)


def test_defaults_without_any_setting(config_file: Path) -> None:
    settings = resolve_settings(NO_FLAGS)
    assert (settings.backend, settings.max_retries, settings.timeout, settings.breaker) == ("anthropic", 2, None, True)
    assert (settings.idle_timeout, settings.max_event_size) == (600.0, 16 << 20)  # None: cloud's defaults
    assert settings.fallbacks == []


def test_the_default_backend_is_the_one_constant(config_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert Settings().backend == DEFAULT_BACKEND == resolve_settings(NO_FLAGS).backend
    monkeypatch.setattr(settings_module, "DEFAULT_BACKEND", "mock")  # what settings read, not a copy of it
    assert resolve_settings(NO_FLAGS).backend == "mock"


def test_fallbacks_and_breaker_from_environment(config_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PROTOSHIFT_FALLBACK", "openai:gpt-x, mock")
    monkeypatch.setenv("PROTOSHIFT_BREAKER", "off")
    settings = resolve_settings(NO_FLAGS)
    assert [(f.name, f.model) for f in settings.fallbacks] == [("openai", "gpt-x"), ("mock", None)]
    assert settings.breaker is False


def test_the_breakers_cooldown_from_environment_or_config(config_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert resolve_settings(NO_FLAGS).breaker_cooldown is None  # cloud.breaker's own (30 s)
    config_file.write_text("breaker_cooldown = 5\n")
    assert resolve_settings(NO_FLAGS).breaker_cooldown == 5.0
    monkeypatch.setenv("PROTOSHIFT_BREAKER_COOLDOWN", "1.5")
    assert resolve_settings(NO_FLAGS).breaker_cooldown == 1.5


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("model = [", "invalid TOML"),
        ("breaker_cooldown = 0", "breaker_cooldown: must be positive"),
        ('backend = "bedrock"', "unknown backend 'bedrock'"),
        ('max_retries = "many"', "max_retries: expected an integer"),
        ("timeout = -1", "timeout: must be positive"),
    ],
)
def test_bad_config_is_a_one_line_input_error(config_file: Path, content: str, message: str) -> None:
    config_file.write_text(content + "\n")
    with pytest.raises(InputError) as caught:
        resolve_settings(NO_FLAGS)
    assert message in caught.value.message


def test_key_from_environment_wins_over_config_and_command(config_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    marker = config_file.parent / "ran"
    config_file.write_text(f'[anthropic]\napi_key = "from-file"\napi_key_cmd = "touch {marker}; echo from-cmd"\n')
    config_file.chmod(0o600)
    monkeypatch.setenv("ANTHROPIC_API_KEY", "from-env")
    assert resolve_settings(NO_FLAGS).api_key_for("anthropic") == "from-env"
    monkeypatch.delenv("ANTHROPIC_API_KEY")
    assert resolve_settings(NO_FLAGS).api_key_for("anthropic") == "from-file"
    assert not marker.exists()  # the command runs only when nothing else gives a key


def test_key_command_output_is_the_key_and_a_failure_never_shows_it(config_file: Path) -> None:
    config_file.write_text("[anthropic]\napi_key_cmd = \"printf '  sk-from-cmd\\\\n'\"\n")
    assert resolve_settings(NO_FLAGS).api_key_for("anthropic") == "sk-from-cmd"

    config_file.write_text('[anthropic]\napi_key_cmd = "echo sk-leaked-secret; exit 3"\n')
    with pytest.raises(InputError) as caught:
        resolve_settings(NO_FLAGS).api_key_for("anthropic")
    assert "exit 3" in caught.value.message
    assert "sk-leaked-secret" not in caught.value.message + (caught.value.hint or "")


def test_chat_uses_the_key_command_from_the_config_file(run_cli: RunCLI, tmp_path: Path) -> None:
    config = tmp_path / "protoshift.toml"
    config.write_text('[anthropic]\napi_key_cmd = "echo sk-ant-from-password-manager"\n')
    with FakeServer(lambda received: anthropic_message_reply("hi")) as server:
        done = run_cli(
            "chat", "-p", "hello", "-v",
            env={"PROTOSHIFT_CONFIG": str(config), "ANTHROPIC_BASE_URL": server.url},
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert server.requests[0].headers["x-api-key"] == "sk-ant-from-password-manager"
    assert json.loads(done.stdout)["choices"][0]["message"]["content"] == "hi"
    assert b"sk-ant-from-password-manager" not in done.stdout + done.stderr


def test_a_failing_key_command_is_exit_2_and_nothing_is_sent(run_cli: RunCLI, tmp_path: Path) -> None:
    config = tmp_path / "protoshift.toml"
    config.write_text('[anthropic]\napi_key_cmd = "echo sk-partial-output; false"\n')
    with FakeServer(lambda received: anthropic_message_reply("hi")) as server:
        done = run_cli("chat", "-p", "hello", env={"PROTOSHIFT_CONFIG": str(config), "ANTHROPIC_BASE_URL": server.url})
        assert server.requests == []
    assert done.returncode == 2
    assert b"api_key_cmd for anthropic failed" in done.stderr
    assert b"sk-partial-output" not in done.stdout + done.stderr


def test_unknown_settings_are_named_with_the_file(config_file: Path) -> None:
    config_file.write_text('modle = "x"\nmodel = "ok"\n[anthropic]\napi_kye = "k"\nbase_url = "https://a.example"\n')
    warnings: list[str] = []
    settings = resolve_settings(NO_FLAGS, warn=warnings.append)
    assert settings.model == "ok"
    assert warnings == [
        f"{config_file}: unknown setting 'modle' ignored",
        f"{config_file}: unknown setting 'anthropic.api_kye' ignored",
    ]


def test_a_typo_in_the_config_file_is_reported_on_stderr(config_file: Path, run_cli: RunCLI) -> None:
    config_file.write_text('backend = "mock"\nmax_retires = 3\n')
    done = run_cli("chat", "--backend", "mock", "-p", "hi", "-f", "json", env={"PROTOSHIFT_CONFIG": str(config_file)})
    assert done.returncode == 0
    assert f"protoshift: {config_file}: unknown setting 'max_retires' ignored" in done.stderr.decode()
    quiet = run_cli("chat", "-q", "-p", "hi", "-f", "json", env={"PROTOSHIFT_CONFIG": str(config_file)})
    assert quiet.returncode == 0 and quiet.stderr == b""


def test_models_tables_of_the_config_file_extend_the_capability_table(config_file: Path) -> None:
    config_file.write_text(
        '[models."claude-opus-4-7*"]\nmax_output = 2000\n\n[models."my-claude"]\nsampling = "none"\n'
    )
    table = resolve_settings(NO_FLAGS).model_table()
    opus = table.lookup("claude-opus-4-7")
    assert opus is not None and opus.max_output == 2000 and opus.thinking == "adaptive"  # the rest stays
    mine = table.lookup("my-claude")
    assert mine is not None and mine.sampling == "none" and mine.max_output is None


def test_a_malformed_models_table_is_bad_input_naming_the_file_and_cell(config_file: Path) -> None:
    config_file.write_text('[models."claude-x"]\nmax_output = -1\n')
    with pytest.raises(InputError) as info:
        resolve_settings(NO_FLAGS).model_table()
    assert info.value.message == f'{config_file}: models."claude-x".max_output: expected a positive integer'


# ---- a config file someone else could have written (issue 9, item 11) ----------------------------


@pytest.mark.parametrize(("mode", "who"), [(0o666, "everyone"), (0o620, "its group"), (0o602, "everyone")])
def test_a_config_file_others_can_write_is_refused(config_file: Path, mode: int, who: str) -> None:
    config_file.write_text('[anthropic]\napi_key_cmd = "touch ran"\n')
    config_file.chmod(mode)
    with pytest.raises(InputError) as info:
        load_config_file()
    assert info.value.message.startswith(f"{config_file}: the config file can be written by {who}; it is not used")
    assert info.value.hint == f"chmod 600 {config_file}"
    config_file.chmod(0o644)  # readable by others is fine: writable is what lets them change it
    assert load_config_file() == {"anthropic": {"api_key_cmd": "touch ran"}}


def test_a_world_writable_config_is_exit_2_and_its_command_never_runs(run_cli: RunCLI, tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    config = tmp_path / "protoshift.toml"
    config.write_text(f'[anthropic]\napi_key_cmd = "touch {marker}; echo sk-ant-x"\n')
    config.chmod(0o666)
    done = run_cli("chat", "-p", "hello", env={"PROTOSHIFT_CONFIG": str(config)})
    assert done.returncode == 2
    assert done.stderr.decode().splitlines() == [
        f"protoshift: error: {config}: the config file can be written by everyone; it is not used"
        " (it can hold keys and a command to run)",
        f"protoshift: hint: chmod 600 {config}",
    ]
    assert not marker.exists()


def test_a_config_file_owned_by_another_user_is_refused(config_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config_file.write_text('model = "x"\n')
    config_file.chmod(0o600)
    if os.getuid() == 0:  # root can give the file away; anyone else pretends to be someone else
        os.chown(config_file, 12345, 12345)
    else:
        monkeypatch.setattr(os, "getuid", lambda: 12345)
    with pytest.raises(InputError, match="belongs to another user") as info:
        load_config_file()
    assert info.value.hint is not None and f"chmod 600 {config_file}" in info.value.hint


@pytest.mark.parametrize(("mode", "who"), [(0o640, "its group"), (0o604, "everyone"), (0o644, "everyone")])
def test_a_config_file_holding_a_key_must_be_readable_by_its_owner_alone(
    config_file: Path, mode: int, who: str
) -> None:
    config_file.write_text('[openai]\napi_key = "sk-in-a-file"\n')
    config_file.chmod(mode)
    with pytest.raises(InputError) as caught:
        resolve_settings(NO_FLAGS)
    assert f"holds a key (api_key under [openai]) and can be read by {who}" in caught.value.message
    assert caught.value.hint == f"chmod 600 {config_file} (and rotate the key if others may have read it)"
    assert "sk-in-a-file" not in caught.value.message
    config_file.chmod(0o600)
    assert resolve_settings(NO_FLAGS).api_key_for("openai") == "sk-in-a-file"


def test_a_readable_config_file_without_a_key_is_fine(config_file: Path) -> None:
    config_file.write_text('model = "claude-haiku-4-5"\n[anthropic]\napi_key_cmd = "pass show anthropic"\n')
    config_file.chmod(0o644)
    assert resolve_settings(NO_FLAGS).model == "claude-haiku-4-5"
