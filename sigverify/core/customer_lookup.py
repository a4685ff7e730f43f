"""Which customer a clerk means: an ID, a full name, or a unique start of either.

The verify field says "Customer ID or name", so a full name typed and Enter must find the
customer; text that fits several customers must name them instead of guessing.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from .store import Customer

MAX_NAMED = 5  # an ambiguous answer names at most this many customers


@dataclass(frozen=True)
class CustomerLookup:
    text: str
    customer: Customer | None  # the one customer meant, if exactly one fits
    candidates: tuple[Customer, ...] = ()  # every customer that fits when several do

    @property
    def ambiguous(self) -> bool:
        return self.customer is None and len(self.candidates) > 1

    def describe_candidates(self) -> str:
        named = ", ".join(f"{c.customer_id} ({c.name})" if c.name else c.customer_id
                          for c in self.candidates[:MAX_NAMED])
        more = len(self.candidates) - MAX_NAMED
        return named + (f" and {more} more" if more > 0 else "")


def _fold(text: str) -> str:
    return " ".join(text.casefold().split())


def find_customer(customers: Iterable[Customer], text: str) -> CustomerLookup:
    """Exact ID, then exact name, then a unique start of the ID, the name or a word of the name."""
    wanted = _fold(text)
    pool = list(customers)
    if not wanted:
        return CustomerLookup(text, None)
    for exact in ([c for c in pool if c.customer_id == text.strip()],
                  [c for c in pool if _fold(c.customer_id) == wanted],
                  [c for c in pool if c.name and _fold(c.name) == wanted]):
        if len(exact) == 1:
            return CustomerLookup(text, exact[0])
        if exact:
            return CustomerLookup(text, None, tuple(exact))
    starts = [c for c in pool if _fold(c.customer_id).startswith(wanted)
              or (c.name and (_fold(c.name).startswith(wanted)
                              or any(word.startswith(wanted) for word in _fold(c.name).split())))]
    if len(starts) == 1:
        return CustomerLookup(text, starts[0])
    return CustomerLookup(text, None, tuple(starts))
