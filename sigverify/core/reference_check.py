"""Check every reference image before registering any: one bad file must not hide the others.

An administrator adding five references learns at once which of them cannot be used and why
(unreadable, blank, no signature), then registers none, or the good ones after confirming.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from .imaging import ImageLoadError
from .normalize import NoInkError
from .pipeline import NoSignatureError, PreparedSignature

REFUSALS = (ImageLoadError, NoSignatureError, NoInkError)


@dataclass(frozen=True)
class RefusedImage:
    name: str
    reason: str
    unreadable: bool  # the file could not be read at all (not an image, damaged)


@dataclass(frozen=True)
class CheckedReferences:
    prepared: list[PreparedSignature] = field(default_factory=list)
    refused: list[RefusedImage] = field(default_factory=list)

    def describe_refused(self) -> str:
        return "; ".join(f"{r.name}: {r.reason}" for r in self.refused)


def check_reference_images(prepare: Callable[..., PreparedSignature], sources: Iterable[tuple[object, str]],
                           check: Callable[[], None] = lambda: None) -> CheckedReferences:
    """``prepare(source, name)`` for every (source, name); refusals are collected, not raised.

    ``check`` runs between images (a GUI task's cancellation point)."""
    result = CheckedReferences()
    for source, name in sources:
        check()
        try:
            result.prepared.append(prepare(source, name))
        except REFUSALS as exc:
            reason = str(exc).removeprefix(f"{name}: ")
            result.refused.append(RefusedImage(name, reason, isinstance(exc, ImageLoadError)))
    return result
