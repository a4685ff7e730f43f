"""What every part of the batch pipeline shares: options, progress, results, the one error type."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from ..pipeline import Decision

STAGES = ("read", "decode", "extraction", "normalisation", "inference", "database")
WORKER_STAGES = ("decode", "extraction", "normalisation")
# decision order for people: what needs a look first
# what needs a person first: no match, then items that could not be verified at all (None: unreadable,
# blank, unknown customer; checked by hand), then refer; matches last
REVIEW_ORDER = {Decision.NO_MATCH.value: 0, None: 1, Decision.REFER.value: 2, Decision.MATCH.value: 3}

Box = tuple[int, int, int, int]


class BatchError(ValueError):
    """The batch cannot start: bad source, manifest, pattern or run id (per-item problems are rows)."""


class NoCustomerMapping(BatchError):
    """A folder batch was asked for without saying whose each file is."""


class StopRequested(Exception):
    """should_stop() said so (raised inside the local or the Ray loop, caught by the runner)."""


def default_workers() -> int:
    # one per core: the main process mostly waits for them (bench/bench_batch.py: embedding is ~5 ms
    # of a ~150 ms item on a CPU, less on a GPU; extraction is most of the rest)
    return max(1, os.cpu_count() or 1)


@dataclass(frozen=True)
class BatchOptions:
    source: Path
    manifest: Path | None = None
    pattern: str | None = None
    workers: int = field(default_factory=default_workers)
    batch_size: int = 32  # items per embedding call and per database transaction
    max_in_flight: int | None = None  # items between source and store; default 4 per worker
    resume: bool | int = False  # True: the latest run of this source; an int: that run
    user: str | None = None
    ray_address: str | None = None  # run on a Ray cluster ("local" starts one here); see ray_backend
    ray_actors: int | None = None  # embedding actors; default one per GPU, else one

    def to_dict(self) -> dict:
        return {"manifest": str(self.manifest) if self.manifest else None, "pattern": self.pattern,
                "workers": self.workers, "batch_size": self.batch_size, "ray": self.ray_address}


@dataclass
class BatchProgress:
    run_id: int
    total: int
    done: int  # rows in the store, including those of an earlier, resumed session
    errors: int
    elapsed: float


@dataclass
class BatchSummary:
    run_id: int
    source: str
    kind: str
    total: int
    processed: int  # items finished in this session
    skipped: int  # finished before (resume)
    errors: int
    decisions: dict[str, int]
    elapsed: float
    stage_seconds: dict[str, float]
    waiting_seconds: float  # main process idle, waiting for workers: the CPU stages starving inference
    worker_cpu_seconds: float  # CPU time of decode + extraction + normalisation (+ embedding where workers embed)
    workers: int
    providers: list[str]
    model: str
    thresholds: dict
    interrupted: bool = False

    @property
    def items_per_second(self) -> float:
        return self.processed / self.elapsed if self.elapsed > 0 else 0.0

    def to_dict(self) -> dict:
        data = dict(self.__dict__)
        data["items_per_second"] = round(self.items_per_second, 3)
        data["stage_seconds"] = {k: round(v, 4) for k, v in self.stage_seconds.items()}
        return data


@dataclass(frozen=True)
class ItemResult:
    """One row of the report (and of batch_items)."""

    key: str
    label: str
    customer_id: str | None
    score: float | None
    decision: str | None
    reference_id: int | None
    box: Box | None
    error: str | None
    details: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        x9 = self.details.get("x9") or {}
        return {
            "item": self.key, "file": self.label, "customer_id": self.customer_id,
            "score": None if self.score is None else round(self.score, 6), "decision": self.decision,
            "reference_id": self.reference_id, "box": list(self.box) if self.box else None, "error": self.error,
            "reason": self.details.get("reason"),  # why a decision came without a score (unsigned cheque)
            "routing": x9.get("routing"), "account": x9.get("account"), "serial": x9.get("serial"),
            "amount_cents": x9.get("amount_cents"),
        }
