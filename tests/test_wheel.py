"""A wheel works on its own: built from this tree, installed into a fresh virtual environment,
run from a folder outside the repository, it verifies with the model it carries inside."""

from __future__ import annotations

import json
import os
import shutil
import site
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest
from fixture_files import write_signature

from sigverify.core.paths import card_path_for, checkout_models_folder

REPO = Path(__file__).resolve().parents[1]
MODEL = checkout_models_folder() / "sigverify.onnx"
BUILD_INPUTS = ("pyproject.toml", "setup.py", "MANIFEST.in", "README.md", "sigverify", "training", "models",
                "assets/icons")

pytestmark = pytest.mark.slow


def _copy_sources(target: Path) -> Path:
    """Only what a build reads (no .venv, no runs/): the tree as a clean clone has it."""
    for name in BUILD_INPUTS:
        source = REPO / name
        (target / name).parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, target / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(source, target / name)
    return target


def _run(command: list, cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    result = subprocess.run([str(c) for c in command], cwd=cwd, env=env, capture_output=True, text=True,
                            timeout=600)
    assert result.returncode == 0, f"{command[:4]} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result


def _fresh_venv(root: Path) -> Path:
    """A new venv that sees this test environment's installed dependencies (no network needed),
    through a .pth line: paths only, so this environment's own sigverify (editable) is not seen."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root)], check=True, timeout=120)
    python = root / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    venv_site = Path(_run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          root).stdout.strip())
    ours = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"], *site.getsitepackages()}
    (venv_site / "test-dependencies.pth").write_text("\n".join(sorted(ours)) + "\n", encoding="utf-8")
    return python


@pytest.mark.skipif(not MODEL.is_file(), reason=f"no shipped model at {MODEL}")
def test_a_wheel_verifies_with_its_bundled_model(tmp_path):
    wheels = tmp_path / "wheels"
    source = _copy_sources(tmp_path / "source")
    _run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index", "-w", wheels,
          source], tmp_path)
    [wheel] = wheels.glob("sigverify-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    assert {"sigverify/models/sigverify.onnx", "sigverify/models/sigverify.onnx.card.json"} <= names

    python = _fresh_venv(tmp_path / "venv")
    _run([sys.executable, "-m", "pip", "--python", python, "install", "--no-deps", "--no-index", wheel], tmp_path)
    work = tmp_path / "elsewhere"  # not the repository: nothing may come from the checkout
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    env["PYTHONNOUSERSITE"] = "1"
    files = [write_signature(work / f"a{i}.png", 11, 100 + i) for i in range(3)]
    url = f"sqlite:///{work / 'store.db'}"
    db = ["--db", url, "--device", "cpu", "--json"]
    cli = [python, "-m", "sigverify"]
    _run([*cli, "init", "--db", url], work, env)

    info = json.loads(_run([*cli, "info", *db], work, env).stdout)
    installed = Path(info["model"]["path"]).resolve()
    assert installed.is_relative_to((tmp_path / "venv").resolve()), f"model not from the wheel: {installed}"
    assert info["model"]["card_verified"] is True
    assert info["model"]["sha256"] == json.loads(card_path_for(MODEL).read_text())["sha256"]
    _run([*cli, "register", "C-1", files[0], files[1], *db], work, env)
    result = json.loads(_run([*cli, "verify", "C-1", files[2], *db], work, env).stdout)
    assert result["decision"] in ("match", "refer", "no_match") and len(result["reference_scores"]) == 2
    assert result["model"] == info["model"]["version"]
