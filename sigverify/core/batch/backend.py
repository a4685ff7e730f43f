"""The batch backend interface: how prepared items come back to the runner.

A backend takes the items the runner hands it (already mapped to a customer, finished ones
skipped), gets each one prepared (and embedded, where the model runs beside the preparation),
and gives every answer back through ``BatchDriver.take``. Two backends exist: a local process
pool (local_backend.py) and a Ray cluster (ray_backend.py); the runner picks one from the
options and knows nothing else about them, and they know the runner only through this protocol.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

from .common import BatchOptions
from .sources import BatchItem, FolderSource, X9Source
from .worker import Prepared


class BatchDriver(Protocol):
    """What a backend may ask of the runner that drives it."""

    options: BatchOptions
    source: FolderSource | X9Source

    def work(self, done: set[str]) -> Iterator[tuple[BatchItem, str]]:
        """(item, customer) for each item still to prepare; records the others' errors; raises
        StopRequested when the user asked to stop."""
        ...

    def take(self, item: BatchItem, customer: str, prepared: Prepared) -> None:
        """One item's answer: into the next scoring flush, or an error row."""
        ...

    def fail(self, item: BatchItem, customer: str | None, reason: str) -> None:
        ...

    def should_stop(self) -> bool:
        ...

    def count_wait(self, seconds: float) -> None:
        """Time the main process sat idle waiting for the backend."""
        ...


class BatchBackend(Protocol):
    def run(self, driver: BatchDriver, done: set[str]) -> None:
        """Every item of ``driver.work(done)`` prepared and handed to ``driver.take`` (or failed)."""
        ...

    def close(self) -> None:
        """Stop the workers; items not yet taken are dropped (a resume redoes them)."""
        ...
