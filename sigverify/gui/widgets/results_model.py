"""Batch results as a Qt model: sortable by any column, filterable by decision and text.

Sorting uses a per-column sort key (the review rank for "Decision": no match, could not be
verified, refer, then match), and the filter proxy understands "needs a person" as all but match.
Thumbnails are scaled to the table's icon size, keeping their shape, so the whole signature shows.
"""

from __future__ import annotations

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, QSize, QSortFilterProxyModel, Qt
from PySide6.QtGui import QColor, QPixmap

from ...core.batch import REVIEW_ORDER, ItemResult
from ...core.score_scale import similarity
from ..theme import DECISION_COLOURS, DECISION_SYMBOLS
from .images import fit_thumbnail

COLUMNS = ("Signature", "Item", "Customer", "Similarity", "Decision", "Problem")
DECISION_WORDS = {"match": "Match", "refer": "Refer", "no_match": "No match"}
SORT_ROLE = Qt.ItemDataRole.UserRole + 1
KIND_ROLE = Qt.ItemDataRole.UserRole + 2
FILTERS = {"All items": None, "Needs a person (all but match)": {"no_match", "error", "refer"},
           "No match": {"no_match"}, "Could not be verified": {"error"}, "Refer": {"refer"}, "Match": {"match"}}
NOT_VERIFIED = "⚠ Not verified"
Index = QModelIndex | QPersistentModelIndex


def problem_of(result: ItemResult) -> str:
    """The Problem column: why the item could not be verified, or why its decision came without a
    score (an unsigned cheque is referred to a person: the clerk must see why)."""
    return result.error or (result.details or {}).get("reason") or ""


def kind_of(result: ItemResult) -> str:
    return "error" if result.error else (result.decision or "error")


class ResultsModel(QAbstractTableModel):
    def __init__(self, parent=None, thumbnail_size: QSize = QSize(150, 54)):  # noqa: B008 - an immutable value
        super().__init__(parent)
        self.results: list[ItemResult] = []
        self.thumbnails: dict[str, QPixmap] = {}
        self.thumbnail_size = thumbnail_size

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(self.results)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole):
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        return None

    def clear(self) -> None:
        self.beginResetModel()
        self.results, self.thumbnails = [], {}
        self.endResetModel()

    def append(self, result: ItemResult) -> None:
        row = len(self.results)
        self.beginInsertRows(QModelIndex(), row, row)
        self.results.append(result)
        self.endInsertRows()

    def set_results(self, results: list[ItemResult], thumbnails: dict[str, QPixmap]) -> None:
        self.beginResetModel()
        self.results = list(results)
        # a view draws a pixmap at its own size and clips it to the cell: fit it in, whole
        self.thumbnails = {key: fit_thumbnail(pixmap, self.thumbnail_size.width(), self.thumbnail_size.height())
                           for key, pixmap in thumbnails.items() if not pixmap.isNull()}
        self.endResetModel()

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        result, column = self.results[index.row()], index.column()
        kind = kind_of(result)
        if role == KIND_ROLE:
            return kind
        if role == Qt.ItemDataRole.DecorationRole and column == 0:
            return self.thumbnails.get(result.key)
        if role == Qt.ItemDataRole.DisplayRole:
            return self._text(result, column, kind)
        if role == SORT_ROLE:
            return self._sort_key(result, column)
        if role == Qt.ItemDataRole.BackgroundRole and column == 4 and kind in DECISION_COLOURS:
            return QColor(DECISION_COLOURS[kind][1])
        if role == Qt.ItemDataRole.ForegroundRole and column == 4 and kind in DECISION_COLOURS:
            return QColor(DECISION_COLOURS[kind][0])
        if role == Qt.ItemDataRole.ToolTipRole and column == 5 and problem_of(result):
            return problem_of(result)
        if role == Qt.ItemDataRole.TextAlignmentRole and column == 3:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    @staticmethod
    def _text(result: ItemResult, column: int, kind: str) -> str:
        if column == 1:
            return result.label
        if column == 2:
            return result.customer_id or "—"
        if column == 3:
            return "" if result.score is None else str(similarity(result.score))  # 0-100, as on Verify
        if column == 4:
            return f"{DECISION_SYMBOLS[kind]} {DECISION_WORDS[kind]}" if kind in DECISION_WORDS else NOT_VERIFIED
        if column == 5:
            return problem_of(result)
        return ""

    @staticmethod
    def _sort_key(result: ItemResult, column: int):
        score = result.score if result.score is not None else -2.0
        if column == 3:
            return score
        if column == 4:  # review order: no match, not verified, refer, match; lowest score first within each
            return REVIEW_ORDER.get(None if result.error else result.decision, 1) * 10 + score
        return [result.key, result.label, result.customer_id or "", score, 0, problem_of(result)][column] \
            if column else result.key


class ResultsFilter(QSortFilterProxyModel):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.setSortRole(SORT_ROLE)
        self.kinds: set[str] | None = None
        self.text = ""

    def set_kinds(self, kinds: set[str] | None) -> None:
        self._change(lambda: setattr(self, "kinds", kinds))

    def set_text(self, text: str) -> None:
        self._change(lambda: setattr(self, "text", text.strip().lower()))

    def _change(self, apply) -> None:
        if hasattr(self, "beginFilterChange"):  # Qt >= 6.9; invalidateFilter() is deprecated there
            self.beginFilterChange()
            apply()
            self.endFilterChange()
        else:
            apply()
            self.invalidateFilter()

    def filterAcceptsRow(self, source_row: int, source_parent: Index) -> bool:
        model: ResultsModel = self.sourceModel()  # type: ignore[assignment]
        result = model.results[source_row]
        if self.kinds is not None and kind_of(result) not in self.kinds:
            return False
        if self.text:
            haystack = f"{result.label} {result.customer_id or ''} {problem_of(result)}".lower()
            return self.text in haystack
        return True
