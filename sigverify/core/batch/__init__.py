"""Batch verification: a folder or an X9.37 file through the same flow as one verification.

    source (folder walk / X9 reader, main process)                         sources.py
      -> customer mapping (manifest, file-name pattern, or X9 account)      mapping.py
      -> a backend prepares each item with pipeline.prepare:               backend.py
           worker processes on this machine (embedding too, on a CPU)      local_backend.py, worker.py
           or a Ray cluster (--ray)                                         ray_backend.py
      -> main process: embed what is left (GPU), pipeline.score             scoring.py
      -> store: one transaction per flush (batch_runs / batch_items)        runs.py
    driven by BatchRunner (resume, stop, progress)                          runner.py
    reports: CSV, JSON, HTML                                                reports.py
    shared options and result types                                         common.py

Never all images in memory: the source yields items lazily and at most ``max_in_flight``
items are between the source and the store. A per-item failure becomes a row with its reason
and the batch goes on; a damaged X9 file becomes one error row after its good items.

The names below are the public API (the CLI, the GUI, the bench and the tests import them
from ``sigverify.core.batch``); the modules' other names may change.
"""

from __future__ import annotations

from ..paths import IMAGE_SUFFIXES
from .backend import BatchBackend, BatchDriver
from .common import (
    REVIEW_ORDER,
    STAGES,
    BatchError,
    BatchOptions,
    BatchProgress,
    BatchSummary,
    ItemResult,
    NoCustomerMapping,
    default_workers,
)
from .local_backend import LocalPoolBackend
from .mapping import (
    ID_BEFORE_FIRST_UNDERSCORE,
    CustomerResolver,
    MappingPreview,
    normalize_account,
    preview_mapping,
    read_manifest,
)
from .reports import (
    REPORT_COLUMNS,
    crop_thumbnails,
    load_results,
    report_summary,
    review_order,
    write_csv,
    write_html,
    write_json,
)
from .runner import BatchRunner, run_batch
from .runs import find_run
from .sources import BatchItem, FolderSource, X9Source, open_source
from .worker import Prepared, prepare_item

__all__ = [
    "ID_BEFORE_FIRST_UNDERSCORE", "IMAGE_SUFFIXES", "REPORT_COLUMNS", "REVIEW_ORDER", "STAGES",
    "BatchError", "BatchItem", "BatchOptions", "BatchProgress", "BatchRunner", "BatchSummary", "CustomerResolver",
    "BatchBackend", "BatchDriver", "FolderSource", "ItemResult", "LocalPoolBackend", "MappingPreview",
    "NoCustomerMapping", "Prepared", "X9Source",
    "crop_thumbnails", "default_workers", "find_run", "load_results", "normalize_account", "open_source",
    "prepare_item", "preview_mapping", "read_manifest", "report_summary", "review_order", "run_batch", "write_csv",
    "write_html", "write_json",
]
