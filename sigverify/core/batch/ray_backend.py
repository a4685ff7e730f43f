"""The same pipeline on a Ray cluster (``--ray ADDRESS``, extra "cluster").

The driver (this process) walks the source, maps customers, skips finished items and writes the
store exactly as the local run does (the runner, through the BatchDriver protocol); ray.data runs
read + decode + extraction + normalisation as CPU tasks and embedding in actors that hold the
model (one per GPU where the cluster has GPUs). Rows carry file paths and X9 offsets, never image
bytes, so the driver's memory does not grow with the night's volume: the source must be on
storage every node can read. ``import ray`` happens only inside these functions, when --ray is
given, so the module imports cleanly without the extra. Ray pickles ``_ray_prepare`` and
``RayEmbedder`` by reference: they must stay at module level here.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from ..engine import Engine
from ..model_trust import ModelError
from ..normalize import NormalizationParams
from ..x9 import X9Error, read_x9_item
from .backend import BatchDriver
from .common import BatchOptions, StopRequested
from .sources import BatchItem, FolderSource, X9Source
from .worker import Prepared, prepare_item

RAY_TASK_MEMORY = 256 * 2**20  # bytes a prepare task may need: a 60 MP scan in gray and RGB, plus work


def _ray_row(item: BatchItem, source: FolderSource | X9Source) -> dict:
    if item.x9 is not None and isinstance(source, X9Source):
        return {"key": item.key, "label": item.label, "path": str(source.path.resolve()),
                "x9_offset": int(item.x9["offset"]), "x9_index": int(item.x9["index"])}
    return {"key": item.key, "label": item.label, "path": str(Path(item.path or "").resolve()), "x9_offset": -1,
            "x9_index": -1}


def _ray_prepare(row: dict, params: dict) -> dict:
    """Ray task: the worker's ``prepare_item`` on one row; the output columns are the same for every row."""
    normalization = NormalizationParams.from_dict(params)
    if row["x9_offset"] >= 0:
        try:
            front = read_x9_item(row["path"], row["x9_offset"], row["x9_index"]).front_image
            item = BatchItem(row["key"], row["label"], data=front or b"")
        except X9Error as exc:
            item = BatchItem(row["key"], row["label"], error=str(exc))
    else:
        item = BatchItem(row["key"], row["label"], path=row["path"])
    prepared = prepare_item(item, normalization) if item.error is None else Prepared(item.key, error=item.error)
    ok = prepared.error is None and prepared.normalized is not None
    shape = (normalization.height, normalization.width)
    return {"key": row["key"], "ok": ok, "error": prepared.error or "", "refer": prepared.refer or "",
            "normalized": prepared.normalized if ok else np.zeros(shape, np.float32),
            "box": json.dumps(prepared.box), "sha256": prepared.sha256, "crop_png": prepared.crop_png or b"",
            "timings": json.dumps(prepared.timings)}


class RayEmbedder:
    """Ray actor: one Engine per actor (per GPU), embedding whole batches of rows."""

    def __init__(self, model_path: str, device: str, sha256: str) -> None:
        self.engine = Engine(model_path, device=device, accepted_sha256=[sha256])
        if self.engine.check.sha256 != sha256:
            raise ModelError(f"the model file {model_path} on this node is not the driver's model")

    def __call__(self, batch: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        ok = batch["ok"].astype(bool)
        embeddings = np.zeros((len(ok), self.engine.metadata.embedding_size), np.float32)
        if ok.any():
            embeddings[ok] = self.engine.embed(np.stack(list(batch["normalized"][ok])), batch_size=int(ok.sum()))
        out = {name: column for name, column in batch.items() if name != "normalized"}
        out["embedding"] = embeddings
        return out


def _ray_connect(address: str) -> None:
    import ray

    if ray.is_initialized():  # a test, or the GUI, already holds a connection
        return
    if address in ("local", ""):
        ray.init(include_dashboard=False, log_to_driver=False)
    else:
        ray.init(address=address, log_to_driver=False)


def _ray_dataset(engine: Engine, options: BatchOptions, rows: list[dict]):
    import ray

    gpus = int(ray.cluster_resources().get("GPU", 0))
    use_gpu = gpus > 0 and engine.requested_device in ("auto", "cuda")
    actors = options.ray_actors or (gpus if use_gpu else 1)
    context = ray.data.DataContext.get_current()
    context.enable_progress_bars = False  # the driver's own progress bar says it once
    # the memory request (one decoded scan within the pixel budget) also keeps Ray from fusing this
    # stage into the embedding actors, which would cap the CPU stages at one process per actor
    dataset = ray.data.from_items(rows).map(
        _ray_prepare, fn_kwargs={"params": engine.metadata.normalization.to_dict()}, num_cpus=1,
        memory=RAY_TASK_MEMORY)
    return dataset.map_batches(
        RayEmbedder, batch_size=options.batch_size, batch_format="numpy",
        compute=ray.data.ActorPoolStrategy(size=actors),
        num_gpus=1 if use_gpu else 0, fn_constructor_kwargs={
            "model_path": str(engine.path), "device": "cuda" if use_gpu else "cpu", "sha256": engine.check.sha256})


class RayBackend:
    """BatchBackend on a Ray cluster: same skips, errors, scoring and writes as the local pool."""

    def __init__(self, engine: Engine, options: BatchOptions) -> None:
        self.engine = engine
        self.options = options

    def close(self) -> None:
        """The cluster stays up (it is shared); the dataset's tasks end with its iterator."""

    def run(self, driver: BatchDriver, done: set[str]) -> None:
        tasks: dict[str, tuple[BatchItem, str]] = {}
        rows = []
        for item, customer in driver.work(done):
            light = BatchItem(item.key, item.label, item.path, None, item.x9)  # no bytes kept in the driver
            tasks[item.key] = (light, customer)
            rows.append(_ray_row(light, driver.source))
        if not rows:
            return
        _ray_connect(self.options.ray_address or "local")
        batches = iter(_ray_dataset(self.engine, self.options, rows).iter_batches(
            batch_size=self.options.batch_size, batch_format="numpy"))
        while True:
            mark = time.perf_counter()
            batch = next(batches, None)
            driver.count_wait(time.perf_counter() - mark)
            if batch is None:
                return
            for i, key in enumerate(batch["key"]):
                item, customer = tasks[str(key)]
                driver.take(item, customer, _ray_prepared(batch, i))
            if driver.should_stop():
                raise StopRequested


def _ray_prepared(batch: dict[str, np.ndarray], i: int) -> Prepared:
    ok = bool(batch["ok"][i])
    box = json.loads(batch["box"][i])
    return Prepared(str(batch["key"][i]), None, tuple(box) if box else None, str(batch["sha256"][i]),  # type: ignore[arg-type]
                    bytes(batch["crop_png"][i]) or None, json.loads(batch["timings"][i]),
                    None if ok else str(batch["error"][i]) or None, np.asarray(batch["embedding"][i]) if ok else None,
                    str(batch["refer"][i]) or None)
