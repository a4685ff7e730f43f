"""The model card's evaluation, as staff need it: what happens to genuine signatures and forgeries.

Cards record figures per evaluation (validation writers, cross-validation folds, datasets never
trained on) and per number of references K ("k1", "k5", any K). This reads whatever rows a card
has, so a new card with other evaluations or other K values still reads right:

* where signatures land at the thresholds the model ships for that K: ``decisions`` =
  {"genuine_refer", "genuine_no_match", "genuine_match", "skilled_match", "random_match", ...};
* else genuine signatures not matched at the match threshold (they go to a person as refer):
  ``frr_at_tau``; skilled forgeries accepted as a match: ``far_skilled_at_tau``; other people's
  genuine signatures accepted: ``far_random_at_tau``;
* otherwise the equal-error rate ``eer_skilled``;
* a score distribution to draw: ``score_histogram`` = {"edges": [...], "genuine": [...],
  "skilled" (or "forged"): [...]} on the model's score axis.

Figures may be plain numbers or cross-validated {"mean", "std", "n"}; the mean is what is said.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_K_KEY = re.compile(r"k(\d+)")


@dataclass(frozen=True)
class ScoreDistribution:
    edges: tuple[float, ...]
    genuine: tuple[int, ...]
    forged: tuple[int, ...]


@dataclass(frozen=True)
class ReferenceCountOutcome:
    """One evaluation with K references: shares of signatures, 0..1 (None: not recorded)."""

    references: int
    genuine_not_matched: float | None
    forgeries_accepted: float | None
    others_accepted: float | None
    eer: float | None
    writers: int | None
    distribution: ScoreDistribution | None = None
    genuine_no_match: float | None = None  # of the genuine ones not matched, those marked no match


@dataclass(frozen=True)
class Evaluation:
    name: str  # where, in words
    outcomes: tuple[ReferenceCountOutcome, ...]


def _mean(value) -> float | None:
    if isinstance(value, dict):
        value = value.get("mean")
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _first(*values: float | None) -> float | None:
    return next((v for v in values if v is not None), None)


def _distribution(row: dict) -> ScoreDistribution | None:
    data = row.get("score_histogram")
    if not isinstance(data, dict):
        return None
    edges, genuine = data.get("edges"), data.get("genuine")
    forged = data.get("skilled", data.get("forged"))
    try:
        result = ScoreDistribution(tuple(float(e) for e in edges), tuple(int(n) for n in genuine),
                                   tuple(int(n) for n in forged))
    except (TypeError, ValueError):
        return None
    ok = len(result.edges) == len(result.genuine) + 1 == len(result.forged) + 1 and len(result.edges) > 1
    return result if ok else None


def _outcome(row: dict, k_from_key: int | None) -> ReferenceCountOutcome | None:
    references = row.get("references", k_from_key)
    if not isinstance(references, int):
        return None
    writers = row.get("writers")
    shares = row.get("decisions") if isinstance(row.get("decisions"), dict) else {}
    matched = _mean(shares.get("genuine_match"))
    outcome = ReferenceCountOutcome(
        references,
        1.0 - matched if matched is not None else _mean(row.get("frr_at_tau")),
        _first(_mean(shares.get("skilled_match")), _mean(row.get("far_skilled_at_tau"))),
        _first(_mean(shares.get("random_match")), _mean(row.get("far_random_at_tau"))),
        _mean(row.get("eer_skilled")), writers if isinstance(writers, int) else None, _distribution(row),
        _mean(shares.get("genuine_no_match")))
    figures = (outcome.genuine_not_matched, outcome.forgeries_accepted, outcome.eer)
    return outcome if any(f is not None for f in figures) else None


def _name(path: tuple[str, ...], folds) -> str:
    words = []
    for part in path:
        if part == "writer_disjoint":
            continue
        if part.startswith("crossval_"):
            words.append(f"{part.removeprefix('crossval_')} writers, cross-validated"
                         + (f" over {folds} folds" if isinstance(folds, int) else ""))
        elif part == "val":
            words.append("validation writers (not trained on)")
        elif part == "test":
            words.append("test writers (not trained on)")
        else:
            words.append(f"{part} (writers not trained on)" if "writer_disjoint" in path else part)
    return " · ".join(words) or "evaluation"


def _walk(node: dict, path: tuple[str, ...], found: list[Evaluation]) -> None:
    """Per-K rows ("k1", "k5", ...) under one evaluation, or a single row that names its K."""
    rows = [outcome for key, value in node.items()
            if isinstance(value, dict) and (match := _K_KEY.fullmatch(str(key)))
            and (outcome := _outcome(value, int(match.group(1)))) is not None]
    if not rows and path and (own := _outcome(node, None)) is not None:
        rows = [own]
    if rows:
        found.append(Evaluation(_name(path, node.get("n_folds")), tuple(sorted(rows, key=lambda o: o.references))))
    for key, value in node.items():
        if isinstance(value, dict) and not _K_KEY.fullmatch(str(key)):
            _walk(value, (*path, str(key)), found)


def _rank(evaluation: Evaluation) -> int:
    """Cross-validation first (the steadiest figures), then validation, then the rest."""
    name = evaluation.name
    return 0 if "cross-validated" in name else 1 if name.startswith("validation") else 2


def evaluations(metrics: dict) -> list[Evaluation]:
    found: list[Evaluation] = []
    if isinstance(metrics, dict):
        _walk(metrics, (), found)
    return sorted(found, key=_rank)


def _pct(share: float) -> str:
    percent = 100 * share
    if percent == 0:
        return "0 %"
    return f"about {percent:.0f} %" if percent >= 1 else "under 1 %"


def _sentence(o: ReferenceCountOutcome) -> str:
    refs = f"With {o.references} reference{'s' if o.references != 1 else ''}"
    if o.genuine_not_matched is not None:
        text = f"{refs}: {_pct(o.genuine_not_matched)} of genuine signatures go to refer"
        if o.genuine_no_match:
            text += f" ({_pct(o.genuine_no_match)} to no match)"
        if o.forgeries_accepted is not None:
            text += f"; {_pct(o.forgeries_accepted)} of skilled forgeries are accepted"
        if o.others_accepted is not None and o.others_accepted >= 0.01:
            text += f", and {_pct(o.others_accepted)} of other people's signatures"
    else:
        text = (f"{refs}: where both mistakes are equally common, {_pct(o.eer or 0.0)} of genuine "
                "signatures and of skilled forgeries are decided wrongly")
    return text + "."


def describe(found: list[Evaluation]) -> str:
    """The card's figures in words, one short paragraph per evaluation."""
    if not found:
        return "The model card records no evaluation."
    paragraphs = []
    for evaluation in found:
        writers = next((o.writers for o in evaluation.outcomes if o.writers), None)
        head = evaluation.name + (f", {writers} writers" if writers else "")
        paragraphs.append(head + ":\n" + "\n".join("• " + _sentence(o) for o in evaluation.outcomes))
    return "\n".join(paragraphs)


def first_distribution(found: list[Evaluation]) -> tuple[Evaluation, ReferenceCountOutcome] | None:
    """The distribution to draw: the steadiest evaluation's, fewest references first."""
    for evaluation in found:
        for outcome in evaluation.outcomes:
            if outcome.distribution is not None:
                return evaluation, outcome
    return None
