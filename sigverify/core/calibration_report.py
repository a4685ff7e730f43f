"""A calibration in words: the lines `sigverify calibrate` prints and the Settings panel shows."""

from __future__ import annotations

from .calibration import Calibration, GroupCalibration, RateEstimate, SideProposal


def _pct(x: float) -> str:
    return f"{100 * x:.2f} %"


def _rate(e: RateEstimate, what: str) -> str:
    return (f"{e.errors} of {e.trials} {what} ({_pct(e.rate)}, {e.confidence:.0%} CI {_pct(e.ci_low)}-"
            f"{_pct(e.ci_high)}; at most {_pct(e.upper_bound)} with {e.confidence:.0%} confidence per signature)")


def _bound(x: float | None) -> str:
    return "unbounded" if x is None else f"{x:.4f}"


def _side(side: SideProposal, now: float) -> str:
    name = "match at or above" if side.side == "accept" else "no match below"
    rate = "FAR" if side.side == "accept" else "FRR"
    if not side.proposed:
        return f"  {name}: REFUSED, {side.reason} (stays {now:.4f})"
    what = "forgeries would match" if side.side == "accept" else "genuine would be 'no match'"
    low, high = side.exact_target_interval or (None, None)
    return (f"  {name} {side.threshold:.4f} (now {now:.4f}) for {rate} <= {_pct(side.target)}: "
            f"{_rate(side.estimate, what)}{_customers(side)}; the score giving {rate} exactly "
            f"{_pct(side.target)} lies in [{_bound(low)}, {_bound(high)}]")


def _customers(side: SideProposal) -> str:
    """The bound the threshold was chosen by, when it was taken at the customer level."""
    c = side.clustering
    if c is None or side.customer_upper_bound is None:
        return " (every signature counted as independent)"
    return (f"; from {c.customers} customer(s), worth {c.effective_samples:.0f} independent signatures "
            f"(intra-customer correlation {c.icc:.2f}, up to {c.icc_upper:.2f}): at most "
            f"{_pct(side.customer_upper_bound)} at the customer level with {side.confidence:.0%} confidence")


def _now_bound(bound: float | None) -> str:
    return "" if bound is None else f"; at the customer level at most {_pct(bound)}"


def _group(g: GroupCalibration) -> list[str]:
    head = "all reference counts together" if g.references is None else f"K = {g.references} reference(s)"
    lines = [f"{head}: {g.genuine} genuine, {g.forged} forged, {g.unlabelled} unlabelled",
             _side(g.accept, g.current.accept), _side(g.reject, g.current.reject)]
    if g.far_now:
        lines.append(f"  today's match threshold lets {_rate(g.far_now, 'forgeries')} through"
                     + _now_bound(g.far_now_customer_bound))
    if g.frr_now:
        lines.append(f"  today's no-match threshold turns away {_rate(g.frr_now, 'genuine')}"
                     + _now_bound(g.frr_now_customer_bound))
    lines.append(f"  proposed pair: match >= {g.proposed.accept:.4f}, no match < {g.proposed.reject:.4f}")
    lines.append(f"  refer rate on these {g.outcomes_now.scores} verifications: {_pct(g.outcomes_now.refer)} now -> "
                 f"{_pct(g.outcomes_proposed.refer)} proposed ({100 * g.refer_change:+.2f} points)")
    lines += [f"  note: {n}" for n in g.notes if not n.startswith(("accept:", "reject:"))]
    return lines


def report_lines(c: Calibration) -> list[str]:
    lines = [f"calibration for model {c.model_version} from {c.source}; labels: {c.label_policy}; "
             f"targets FAR {_pct(c.target_far)} at match, FRR {_pct(c.target_frr)} at no match, "
             f"{c.confidence:.0%} confidence"]
    lines += [f"  {why}: {n}" for why, n in sorted(c.left_out.items())]
    lines += _group(c.overall)
    if len(c.per_k) > 1:
        for g in c.per_k:
            lines += _group(g)
        lines.append("applied per reference count: " + "; ".join(
            f"K = {k}: match >= {a:.4f}, no match < {r:.4f}" for k, a, r in c.by_references)
            + " (each K's own proposal where its data sufficed, else the one for all K together; a count "
            "not listed uses the nearest listed count below it, else the pair for all K)")
    return lines
