"""Embedding and scoring in the main process: one engine call per flush, references read once."""

from __future__ import annotations

import numpy as np

from ..engine import Engine
from ..pipeline import NoSignatureError, Thresholds, score
from ..store import Store, UnknownCustomerError
from ..verify import reference_matrix
from .common import ItemResult
from .sources import BatchItem
from .worker import Prepared

Ready = tuple[BatchItem, str, Prepared]  # an item, its customer, the worker's answer


class References:
    """Each customer's reference embeddings, read once per batch (not once per item)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.cache: dict[str, tuple[list[int], np.ndarray] | str] = {}

    def get(self, customer_id: str) -> tuple[list[int], np.ndarray] | str:
        """(reference ids, matrix) or the reason there are none."""
        if customer_id not in self.cache:
            try:
                self.cache[customer_id] = reference_matrix(self.store, customer_id)
            except (UnknownCustomerError, NoSignatureError) as exc:
                self.cache[customer_id] = str(exc)
        return self.cache[customer_id]


def item_details(item: BatchItem, prepared: Prepared | None) -> dict:
    """The JSON kept in batch_items.details: what the report needs beyond the columns."""
    details: dict = {"label": item.label}
    if item.x9:
        details["x9"] = item.x9
    if prepared is not None:
        if prepared.sha256:  # empty when the bytes could not be read at all
            details["sha256"] = prepared.sha256
        details["timings"] = {k: round(v, 5) for k, v in prepared.timings.items()}
    return details


def embeddings_for(engine: Engine, prepared: list[Prepared]) -> list[np.ndarray]:
    """One batched engine call for the items not already embedded elsewhere (Ray actors)."""
    todo = [i for i, p in enumerate(prepared) if p.embedding is None]
    embeddings = [p.embedding for p in prepared]
    if todo:
        computed = engine.embed(np.stack([prepared[i].normalized for i in todo]), batch_size=len(todo))
        for i, embedding in zip(todo, computed, strict=True):
            embeddings[i] = embedding
    return embeddings  # type: ignore[return-value]


def score_ready(ready: list[Ready], references: References, thresholds: Thresholds, engine: Engine,
                model_version: str) -> list[ItemResult]:
    """Each prepared item against its customer's references (``pipeline.score``): best score,
    decision, every score."""
    if not ready:
        return []
    embeddings = embeddings_for(engine, [p for _, _, p in ready])
    results = []
    for (item, customer, prepared), embedding in zip(ready, embeddings, strict=True):
        refs = references.get(customer)
        assert not isinstance(refs, str)  # checked before the item was submitted
        ids, matrix = refs
        scored = score(embedding, matrix, ids, thresholds)
        details = item_details(item, prepared)
        details["reference_scores"] = [{"reference_id": r.reference_id, "score": round(r.score, 6)}
                                       for r in scored.reference_scores]
        details["thresholds"] = scored.thresholds.to_dict()
        details["model"] = model_version
        results.append(ItemResult(item.key, item.label, customer, scored.score, scored.decision.value,
                                  scored.best_reference_id, prepared.box, None, details))
    return results
