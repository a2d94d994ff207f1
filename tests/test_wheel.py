"""The wheel, installed as a user installs it: into a fresh venv, next to another package that ships
a top-level `cli`.

Why this fails on the old layout (the wheel installing top-level `cli/`, `cloud/`, `translator/`):
both wheels then write `site-packages/cli/__init__.py` and `cli/main.py`. Whichever is installed
last wins, silently: the console script `protoshift` (then `cli.main:run`) imports the other
package's `cli.main` and dies with `ImportError: cannot import name 'run'`, or the other package
finds protoshift's `cli` instead of its own; uninstalling either deletes the other's files; and
there is no `protoshift` package, so `import protoshift.translator` and `python -m protoshift`
fail. Below, the wheel's file list is checked first, then each of those symptoms.
"""

from __future__ import annotations

import base64
import hashlib
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.trust_store import real_environment

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ("pyproject.toml", "README.md", "protoshift", "cli", "cloud", "gateway", "translator")

pytestmark = pytest.mark.process  # builds a wheel, makes a venv, runs its console script


def _uv(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """uv from the cache when it can (setuptools and the dependencies are there after `uv sync`),
    else from the index."""
    uv = shutil.which("uv")
    assert uv is not None, "uv is not on PATH"
    env = real_environment()  # the index is https
    done = subprocess.run([uv, *args, "--offline"], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    if done.returncode != 0:
        done = subprocess.run([uv, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return done


def _build_protoshift_wheel(tmp_path: Path) -> Path:
    """Built from a copy of the sources, so the build leaves nothing in the work tree."""
    source = tmp_path / "src"
    source.mkdir()
    for name in SOURCES:
        path = ROOT / name
        if path.is_dir():  # protoshift/ holds relative symlinks to the rooms: copied as links
            shutil.copytree(path, source / name, symlinks=True, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(path, source / name)
    _uv("build", "--wheel", "--out-dir", str(tmp_path / "dist"), cwd=source)
    [wheel] = (tmp_path / "dist").glob("protoshift-*.whl")
    return wheel


def _dummy_cli_wheel(directory: Path) -> Path:
    """A package named `dummy-cli` that ships a top-level `cli` package, as many do."""
    name = "dummy_cli-1.0"
    files = {
        "cli/__init__.py": b"",
        "cli/main.py": b'WHO = "dummy"\n\n\ndef hello():\n    return WHO\n',
        f"{name}.dist-info/METADATA": b"Metadata-Version: 2.1\nName: dummy-cli\nVersion: 1.0\n",
        f"{name}.dist-info/WHEEL": b"Wheel-Version: 1.0\nGenerator: tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = []
    for path, data in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append(f"{path},sha256={digest},{len(data)}")
    record.append(f"{name}.dist-info/RECORD,,")
    wheel = directory / f"{name}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for path, data in files.items():
            archive.writestr(path, data)
        archive.writestr(f"{name}.dist-info/RECORD", "\n".join(record) + "\n")
    return wheel


def test_the_wheel_installs_next_to_a_package_with_a_top_level_cli(tmp_path: Path) -> None:
    wheel = _build_protoshift_wheel(tmp_path)
    top_level = {name.split("/")[0] for name in zipfile.ZipFile(wheel).namelist()}
    dist_info = f"{wheel.name.split('-')[0]}-{wheel.name.split('-')[1]}.dist-info"  # protoshift-VERSION
    assert top_level == {"protoshift", dist_info}, top_level
    names = set(zipfile.ZipFile(wheel).namelist())
    assert {
        "protoshift/py.typed",
        "protoshift/cli/main.py",
        "protoshift/translator/__init__.py",
        "protoshift/gateway/app.py",
        "protoshift/gateway/surfaces/chat.py",
    } <= names

    venv = tmp_path / "venv"
    _uv("venv", "--python", sys.executable, str(venv))
    python = venv / "bin" / "python"
    _uv("pip", "install", "--python", str(python), str(wheel), str(_dummy_cli_wheel(tmp_path)))

    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")}
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"

    def run(*command: str | Path) -> subprocess.CompletedProcess[str]:
        # in an empty folder: the repository's own cli/ must not be what gets imported
        return subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)

    def protoshift_works() -> None:
        for command in ([venv / "bin" / "protoshift", "--help"], [python, "-m", "protoshift", "--help"]):
            done = run(*command)
            assert done.returncode == 0, done.stderr
            assert done.stdout.startswith("Usage: protoshift"), done.stdout
        done = run(
            python, "-c", "import protoshift.translator, protoshift.cloud, protoshift.gateway.app, protoshift.cli.main"
        )
        assert done.returncode == 0, done.stderr

    protoshift_works()
    dummy = run(python, "-c", "import cli.main; print(cli.main.hello())")
    assert (dummy.returncode, dummy.stdout) == (0, "dummy\n"), dummy.stderr  # the other package is intact too

    _uv("pip", "uninstall", "--python", str(python), "dummy-cli")
    protoshift_works()  # removing the other package took none of protoshift's files
