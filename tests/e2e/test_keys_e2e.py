"""Keys that cannot be sent: refused before anything is sent, exit 2, one line saying where the key came from and
what is wrong with it, nothing of the key anywhere. (Issue 9, item 9: a key with a trailing CR was printed in
clear three times by httpx's "Illegal header value" message, retried and counted by the breaker.)"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fakes import anthropic_message_reply

from .conftest import Chat, Serve
from .helpers import one_error

SECRET_PART = "Zq7XwV3pLm9T"


@pytest.mark.parametrize(
    ("key", "said"),
    [
        (f"sk-ant-{SECRET_PART}\r", "the key from ANTHROPIC_API_KEY contains a carriage return at its end"),
        (f"sk-ant-{SECRET_PART}\n", "the key from ANTHROPIC_API_KEY contains a line feed at its end"),
        (f"sk-ant {SECRET_PART}", "the key from ANTHROPIC_API_KEY contains a space inside it"),
        (f"sk-ant-{SECRET_PART}-ключ", "the key from ANTHROPIC_API_KEY contains a character outside ASCII (U+043A)"),
    ],
)
def test_a_key_that_cannot_be_a_header_is_refused_and_never_shown(
    chat: Chat, serve: Serve, key: str, said: str
) -> None:
    server = serve(lambda received: anthropic_message_reply("never"))
    for args in (["-p", "hi"], ["-p", "hi", "-v", "--stream"]):
        done = chat(*args, server=server, env={"ANTHROPIC_API_KEY": key})
        line = one_error(done, 2)
        assert said in line, line
        assert SECRET_PART.encode() not in done.stdout + done.stderr
    assert server.requests == []  # never sent, so never retried nor counted by the breaker


def test_a_key_from_the_config_file_is_named_by_where_it_is(chat: Chat, serve: Serve, tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(f'[anthropic]\napi_key = "sk-ant-{SECRET_PART} and more"\n')
    config.chmod(0o600)
    server = serve(lambda received: anthropic_message_reply("never"))
    done = chat("-p", "hi", server=server, env={"ANTHROPIC_API_KEY": "", "PROTOSHIFT_CONFIG": str(config)})
    line = one_error(done, 2)
    assert f"the key from api_key under [anthropic] in {config} contains a space inside it" in line
    assert SECRET_PART.encode() not in done.stdout + done.stderr
    assert server.requests == []


def test_verbose_shows_no_part_of_a_key_in_any_header(chat: Chat, serve: Serve) -> None:
    server = serve(lambda received: anthropic_message_reply("fine"))
    done = chat("-p", "hi", "-v", server=server, env={"ANTHROPIC_API_KEY": f"sk-ant-{SECRET_PART}"})
    assert done.returncode == 0, done.stderr
    assert b"x-api-key: ***" in done.stderr
    assert SECRET_PART.encode() not in done.stdout + done.stderr
