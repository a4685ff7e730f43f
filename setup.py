"""Packaging hook: the wheel carries the shipped model(s) and icons inside the package.

The training package writes models to ``models/`` at the repository root (with their cards) and
the icons live in ``assets/icons``; a wheel has no repository root, so the build copies them to
``sigverify/models`` and ``sigverify/assets/icons``, where ``sigverify.core.paths`` finds them
(importlib.resources) before it looks for a checkout. Everything else is in pyproject.toml.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
# (source folder in the checkout, file patterns, folder inside the package)
BUNDLED = (
    ("models", ("*.onnx", "*.onnx.card.json"), "sigverify/models"),
    ("assets/icons", ("*.svg", "*.png", "*.ico"), "sigverify/assets/icons"),
)


class BuildWithBundledFiles(build_py):
    def run(self) -> None:
        super().run()
        for source, patterns, target in BUNDLED:
            out = Path(self.build_lib) / target
            out.mkdir(parents=True, exist_ok=True)
            for pattern in patterns:
                for file in sorted((ROOT / source).glob(pattern)):
                    shutil.copy2(file, out / file.name)


setup(cmdclass={"build_py": BuildWithBundledFiles})
