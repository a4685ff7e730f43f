"""Where batch items come from: every image under a folder, or every item of an X9.37 file.

Sources yield items lazily (paths, or one X9 item's bytes at a time) so a night's volume never
sits in memory; a damaged X9 file still yields the items before the damage, then one error item.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from ..paths import is_image_file
from ..x9 import X9Error, X9Item, count_x9_items, detect_encoding, read_x9
from .common import BatchError


@dataclass(frozen=True)
class BatchItem:
    """One thing to verify, as a source yields it."""

    key: str  # unique within the run: relative path, or the X9 item key
    label: str  # what a person reads in the report
    path: str | None = None  # a file the worker reads itself (folders)
    data: bytes | None = field(default=None, repr=False)  # or the image bytes (X9 fronts)
    x9: dict | None = None  # routing, account, serial, amount_cents, sequence, on_us
    error: str | None = None  # the source already knows it is unusable (missing front, damaged file)


class FolderSource:
    """Every image file under a folder, recursively, in a stable (sorted) order."""

    kind = "folder"

    def __init__(self, root: Path) -> None:
        self.root = root
        # paths only: cheap even for a night's worth of scans, and gives the progress total
        self.files = sorted(
            path
            for path in root.rglob("*")
            if is_image_file(path) and path.is_file() and not path.name.startswith(".")
        )

    def count(self) -> int:
        return len(self.files)

    def items(self) -> Iterator[BatchItem]:
        for path in self.files:
            key = path.relative_to(self.root).as_posix()
            yield BatchItem(key=key, label=key, path=str(path))


class X9Source:
    """The items of an X9.37 file; damage after good items becomes one error item."""

    kind = "x9"

    def __init__(self, path: Path) -> None:
        self.path = path
        self._count: int | None = None

    def count(self) -> int:
        if self._count is None:
            try:
                self._count = count_x9_items(self.path)
            except X9Error:
                self._count = sum(1 for _ in self._good_items()) + 1  # the good ones and the damage row
        return self._count

    def _good_items(self) -> Iterator[X9Item]:
        try:
            yield from read_x9(self.path, images=False)
        except X9Error:
            return

    def items(self) -> Iterator[BatchItem]:
        try:
            for item in read_x9(self.path):
                yield self._to_batch_item(item)
        except X9Error as err:
            yield BatchItem(
                key=f"damage@{err.offset}", label=f"{self.path.name} byte {err.offset}", error=str(err)
            )

    def _to_batch_item(self, item: X9Item) -> BatchItem:
        x9 = {
            "index": item.index,
            "routing": item.routing,
            "on_us": item.on_us,
            "account": item.account,
            "serial": item.serial,
            "amount_cents": item.amount_cents,
            "sequence": item.sequence,
            "offset": item.offset,
        }
        label = f"{self.path.name} item {item.index + 1}" + (f" (seq {item.sequence})" if item.sequence else "")
        error = None if item.front_image else "the X9 item has no front image"
        return BatchItem(key=item.key, label=label, data=item.front_image, x9=x9, error=error)


def open_source(path: str | Path) -> FolderSource | X9Source:
    source = Path(path)
    if source.is_dir():
        return FolderSource(source)
    if not source.is_file():
        raise BatchError(f"{source}: no such folder or file")
    with open(source, "rb") as handle:
        head = handle.read(6)
    try:
        detect_encoding(head)
    except ValueError as exc:
        raise BatchError(f"{source}: a batch source is a folder of images or an X9.37 file ({exc})") from None
    return X9Source(source)

