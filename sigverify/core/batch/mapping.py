"""Which customer an item belongs to: a manifest CSV, a file-name pattern, or the X9 account."""

from __future__ import annotations

import csv
import itertools
import re
from dataclasses import dataclass
from pathlib import Path

from ..store import Store
from .common import BatchError
from .sources import BatchItem, open_source

# the plain choice offered to operators: "C-1001_front.png" is customer C-1001
ID_BEFORE_FIRST_UNDERSCORE = r"^(?P<customer>[^_]+)_"


def normalize_account(account: str) -> str:
    """Digits and letters only: '1211-1234-56789' in the MICR matches '1211123456789' in the store."""
    return re.sub(r"[^0-9A-Za-z]", "", account).lstrip("0")


def read_manifest(path: Path) -> dict[str, str]:
    """``file,customer_id`` rows (header optional) -> {file as written: customer}."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            rows = [row for row in csv.reader(handle) if row and any(cell.strip() for cell in row)]
    except OSError as exc:
        raise BatchError(f"manifest {path}: cannot be read ({exc.strerror or exc})") from exc
    if rows and [cell.strip().lower() for cell in rows[0][:2]] in (["file", "customer_id"], ["file", "customer"]):
        rows = rows[1:]
    mapping: dict[str, str] = {}
    for number, row in enumerate(rows, start=1):
        if len(row) < 2 or not row[0].strip() or not row[1].strip():
            raise BatchError(f"manifest {path}: row {number} is not 'file,customer_id': {row}")
        mapping[row[0].strip().replace("\\", "/")] = row[1].strip()
    return mapping


class CustomerResolver:
    """Which customer an item belongs to: manifest first, then the pattern, then the X9 account."""

    def __init__(self, store: Store, manifest: Path | None = None, pattern: str | None = None) -> None:
        self.store = store
        self.manifest = read_manifest(manifest) if manifest else None
        self.by_name: dict[str, str] = {}
        if self.manifest:
            for name, customer in self.manifest.items():
                self.by_name.setdefault(Path(name).name, customer)
        self.pattern = self._compile(pattern) if pattern else None
        self._accounts: dict[str, str] | None = None

    @staticmethod
    def _compile(pattern: str) -> re.Pattern[str]:
        try:
            compiled = re.compile(pattern)
        except re.error as exc:
            raise BatchError(f"the file-name pattern is not a valid regular expression: {exc}") from exc
        if "customer" not in compiled.groupindex:
            raise BatchError("the file-name pattern needs a named group (?P<customer>...) for the customer")
        return compiled

    def accounts(self) -> dict[str, str]:
        if self._accounts is None:  # one query for the whole batch, not one per item
            self._accounts = {
                normalize_account(c.account): c.customer_id for c in self.store.list_customers() if c.account
            }
        return self._accounts

    def resolve(self, item: BatchItem) -> tuple[str | None, str]:
        """(customer id, how it was found) or (None, why not)."""
        if self.manifest is not None:
            for key in self._manifest_keys(item):
                if key in self.manifest:
                    return self.manifest[key], "manifest"
            if Path(item.key).name in self.by_name and item.x9 is None:
                return self.by_name[Path(item.key).name], "manifest"
        if self.pattern is not None:
            # the file's name only: folder names ("day_2026-12-02/...") are no customer
            match = self.pattern.search(Path(item.key).name)
            if match and match.group("customer"):
                return match.group("customer"), "pattern"
        if item.x9 is not None and item.x9.get("account"):
            account = item.x9["account"]
            customer = self.accounts().get(normalize_account(account))
            if customer:
                return customer, "account"
            return None, f"account {account!r} belongs to no customer in the store"
        tried = [name for name, used in (("manifest", self.manifest), ("pattern", self.pattern)) if used]
        return None, "no customer for this item" + (f" (not found by {' or '.join(tried)})" if tried else
                                                    ": a manifest or a file-name pattern must say whose it is")

    @staticmethod
    def _manifest_keys(item: BatchItem) -> list[str]:
        keys = [item.key]
        if item.x9:
            keys += [str(item.x9.get("sequence", "")), str(item.x9.get("index", "")), item.label]
        return [key for key in keys if key]



@dataclass(frozen=True)
class MappingPreview:
    """One item and the customer the chosen mapping gives it, shown before a run starts."""

    label: str
    customer_id: str | None
    customer_name: str | None
    known: bool  # the customer exists in the store
    how: str  # "manifest", "pattern", "account", or why no customer was found


def preview_mapping(store: Store, source: str | Path, manifest: Path | None = None, pattern: str | None = None,
                    limit: int = 5) -> list[MappingPreview]:
    """The first ``limit`` items of ``source`` and their customers, without reading any image."""
    resolver = CustomerResolver(store, manifest, pattern)
    previews = []
    for item in itertools.islice(open_source(source).items(), limit):
        customer_id, how = resolver.resolve(item)
        customer = store.get_customer(customer_id) if customer_id else None
        previews.append(MappingPreview(item.label, customer_id, customer.name if customer else None,
                                       customer is not None, how))
    return previews
