"""What a command needs, built lazily from the common options: engine, store, verifier, output."""

from __future__ import annotations

import getpass
import json
import os
import sys
from functools import cached_property

from ..core.engine import Engine
from ..core.store import Store
from ..core.verify import Verifier


class CliContext:
    def __init__(self, args):
        self.args = args
        self.json = bool(getattr(args, "json", False))

    @cached_property
    def engine(self) -> Engine:
        engine = Engine(getattr(self.args, "model", None), device=getattr(self.args, "device", "auto"))
        if engine.fallback_message:
            print(f"note: {engine.fallback_message}", file=sys.stderr)
        return engine

    @cached_property
    def store(self) -> Store:
        return Store(getattr(self.args, "db", None))

    @cached_property
    def verifier(self) -> Verifier:
        verifier = Verifier(self.engine, self.store)
        refreshed = verifier.refresh_stale_embeddings()
        if refreshed:
            print(f"note: re-embedded {refreshed} reference(s) for model {verifier.model_version}", file=sys.stderr)
        return verifier

    @cached_property
    def user(self) -> str:
        return os.environ.get("SIGVERIFY_USER") or getpass.getuser()

    def emit(self, data: dict, text: str) -> None:
        """One JSON object per line with --json, else the human sentence."""
        if self.json:
            print(json.dumps(data, ensure_ascii=False), flush=True)
        else:
            print(text, flush=True)
