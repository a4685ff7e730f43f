"""Batch page: a folder of scans or an X9.37 file through the core's BatchRunner.

The runner works on the task runner (key ``"batch"``); its callbacks arrive here as progress
values: ``BatchProgress`` for the bar, ``ItemResult`` for the table. Cancel sets the flag the
runner polls (``should_stop``), which stops after the current batch, so the store only holds
whole batches and "Continue the last run" picks up where it stopped.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QSize, Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QFileDialog,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QTableView,
    QWidget,
)

from ...core import batch as core_batch
from ...core.batch import BatchOptions, BatchProgress, BatchSummary, ItemResult
from ..context import AppContext
from ..errors import ErrorReporter, Explanation
from ..widgets.drop_zone import DropZone
from ..widgets.images import pixmap_from_bytes
from ..widgets.results_model import FILTERS, ResultsFilter, ResultsModel
from ..workers import TaskHandle
from .base import Page

# how each item's customer is found, in an operator's words; the pattern is the advanced choice
MAPPINGS = {
    "prefix": "Customer ID before the first _ in the file name",
    "manifest": "A manifest file (file,customer_id)",
    "accounts": "Account numbers on the cheques (X9.37 files)",
    "pattern": "Advanced: a pattern on the file name",
}
PREVIEW_ITEMS = 4
THUMBNAIL_SIZE = QSize(150, 54)  # fits the first column (160 px) and a row (58 px)
EXPORT_FILTERS = "CSV spreadsheet (*.csv);;JSON (*.json);;HTML report with images (*.html)"


@dataclass(frozen=True)
class BatchOutcome:
    summary: BatchSummary
    results: list[ItemResult]
    crops: dict[str, bytes]


def format_duration(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


class BatchPage(Page):
    title = "Batch verification"
    subtitle = ("Verify a folder of scanned cheques or an X9.37 image cash letter file. "
                "Items that need a person (no match, could not be verified, refer) come first.")

    def __init__(self, context: AppContext, errors: ErrorReporter, parent: QWidget | None = None):
        super().__init__(context, errors, parent)
        self.handle: TaskHandle | None = None
        self.outcome: BatchOutcome | None = None
        self.progress_value: BatchProgress | None = None
        self._build()

    # --- layout -----------------------------------------------------------------------
    def _build(self) -> None:
        grid = QGridLayout()
        grid.setColumnStretch(1, 1)
        self.drop_zone = DropZone("Drop a folder of scans or an X9.37 file here", accept_folders=True)
        self.drop_zone.setFixedHeight(64)
        self.drop_zone.files_dropped.connect(lambda paths: self.set_source(paths[0]))
        self.drop_zone.activated.connect(self.choose_folder)
        grid.addWidget(self.drop_zone, 0, 0, 1, 4)
        source_label = QLabel("&Source:")
        self.source = QLineEdit()
        self.source.setPlaceholderText("a folder of images, or an .x937 / .x9 / .icl file")
        source_label.setBuddy(self.source)
        folder_button = QPushButton("Choose &folder…")
        folder_button.clicked.connect(self.choose_folder)
        file_button = QPushButton("Choose X9.37 fi&le…")
        file_button.clicked.connect(self.choose_x9)
        grid.addWidget(source_label, 1, 0)
        grid.addWidget(self.source, 1, 1)
        grid.addWidget(folder_button, 1, 2)
        grid.addWidget(file_button, 1, 3)

        mapping_label = QLabel("C&ustomers from:")
        self.mapping = QComboBox()
        for key, text in MAPPINGS.items():
            self.mapping.addItem(text, key)
        mapping_label.setBuddy(self.mapping)
        self.manifest = QLineEdit()
        self.manifest.setPlaceholderText("manifest.csv (file,customer_id)")
        self.manifest_button = QPushButton("…")
        self.manifest_button.setAccessibleName("Choose the manifest file")
        self.manifest_button.clicked.connect(self.choose_manifest)
        self.pattern = QLineEdit(core_batch.ID_BEFORE_FIRST_UNDERSCORE)
        self.pattern.setToolTip("A regular expression with a group named 'customer', matched on the file name")
        self.pattern.setAccessibleName("Pattern on the file name")
        mapping = QHBoxLayout()
        for widget in (self.mapping, self.manifest, self.manifest_button, self.pattern):
            mapping.addWidget(widget)
        mapping.setStretch(0, 0)
        grid.addWidget(mapping_label, 2, 0)
        grid.addLayout(mapping, 2, 1, 1, 3)
        self.preview = QLabel("")
        self.preview.setObjectName("pageSubtitle")
        self.preview.setWordWrap(True)
        self.preview.setTextFormat(Qt.TextFormat.PlainText)
        grid.addWidget(self.preview, 3, 1, 1, 3)
        self.mapping.currentIndexChanged.connect(self._mapping_changed)
        self.manifest.editingFinished.connect(self.refresh_preview)
        self.pattern.editingFinished.connect(self.refresh_preview)
        self.source.editingFinished.connect(self.refresh_preview)
        self._mapping_changed()

        run_row = QHBoxLayout()
        self.workers = QSpinBox()
        self.workers.setRange(0, 32)
        self.workers.setValue(int(self.context.settings.value("batch/workers", core_batch.default_workers())))
        self.workers.setToolTip("Processes that read and extract the cheques; 0 = inside the app")
        workers_label = QLabel("&Worker processes:")
        workers_label.setBuddy(self.workers)
        self.resume = QCheckBox("&Continue the last run of this source")
        self.start_button = QPushButton("&Start")
        self.start_button.setObjectName("primaryButton")
        self.cancel_button = QPushButton("Cance&l")
        self.cancel_button.setEnabled(False)
        self.start_button.clicked.connect(self.start)
        self.cancel_button.clicked.connect(self.cancel)
        for widget in (workers_label, self.workers, self.resume):
            run_row.addWidget(widget)
        run_row.addStretch(1)
        run_row.addWidget(self.start_button)
        run_row.addWidget(self.cancel_button)
        grid.addLayout(run_row, 4, 0, 1, 4)
        self.page_layout.addLayout(grid)

        self.progress = QProgressBar()
        self.progress.setTextVisible(True)
        self.progress.setFormat("")
        self.status = QLabel("Choose a source and press Start.")
        self.status.setObjectName("pageSubtitle")
        self.page_layout.addWidget(self.progress)
        self.page_layout.addWidget(self.status)

        filters = QHBoxLayout()
        self.filter_kind = QComboBox()
        self.filter_kind.addItems(list(FILTERS))
        self.filter_kind.setAccessibleName("Show")
        self.filter_kind.currentTextChanged.connect(lambda text: self.proxy.set_kinds(FILTERS[text]))
        self.filter_text = QLineEdit()
        self.filter_text.setPlaceholderText("Filter by file, customer or problem")
        self.filter_text.setClearButtonEnabled(True)
        self.filter_text.textChanged.connect(lambda text: self.proxy.set_text(text))
        self.export_button = QPushButton("&Export…")
        self.export_button.setEnabled(False)
        self.export_button.clicked.connect(self.export)
        show_label = QLabel("S&how:")
        show_label.setBuddy(self.filter_kind)
        filters.addWidget(show_label)
        filters.addWidget(self.filter_kind)
        filters.addWidget(self.filter_text, 1)
        filters.addWidget(self.export_button)
        self.page_layout.addLayout(filters)

        self.model = ResultsModel(self, THUMBNAIL_SIZE)
        self.proxy = ResultsFilter(self)
        self.proxy.setSourceModel(self.model)
        self.table = QTableView()
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(4, Qt.SortOrder.AscendingOrder)  # review order
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(58)
        self.table.setIconSize(THUMBNAIL_SIZE)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(5, QHeaderView.ResizeMode.Stretch)
        header.resizeSection(0, 160)
        header.resizeSection(1, 260)
        header.resizeSection(2, 110)
        header.resizeSection(3, 70)
        header.resizeSection(4, 110)
        self.page_layout.addWidget(self.table, 1)

    # --- choosing ---------------------------------------------------------------------
    def _start_folder(self) -> str:
        return str(self.context.settings.value("batch/last_folder", str(Path.home())))

    def choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Folder of scanned cheques", self._start_folder())
        if folder:
            self.set_source(folder)

    def choose_x9(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "X9.37 image cash letter file", self._start_folder(),
                                              "X9.37 files (*.x937 *.x9 *.icl *.dat);;All files (*)")
        if path:
            self.set_source(path)

    def choose_manifest(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Manifest (file,customer_id)", self._start_folder(),
                                              "CSV files (*.csv);;All files (*)")
        if path:
            self.manifest.setText(path)
            self.set_mapping("manifest")

    def set_source(self, path: str) -> None:
        self.source.setText(path)
        source = Path(path)
        self.context.settings.setValue("batch/last_folder", str(source if source.is_dir() else source.parent))
        if source.is_file():
            self.set_mapping("accounts")  # an X9 file carries the account of each cheque
        elif (source / "manifest.csv").is_file():
            self.manifest.setText(str(source / "manifest.csv"))
            self.set_mapping("manifest")
        elif self.mapping_choice() == "accounts":
            self.set_mapping("prefix")  # a folder has no account numbers
        self.drop_zone.show_hint(f"{source.name or path}  —  press Start (Alt+S)")
        self.refresh_preview()

    def mapping_choice(self) -> str:
        return str(self.mapping.currentData())

    def set_mapping(self, key: str) -> None:
        self.mapping.setCurrentIndex(self.mapping.findData(key))

    def _mapping_changed(self) -> None:
        choice = self.mapping_choice()
        for widget in (self.manifest, self.manifest_button):
            widget.setVisible(choice == "manifest")
        self.pattern.setVisible(choice == "pattern")
        self.refresh_preview()

    # --- preview of the mapping, before the run -----------------------------------------
    def refresh_preview(self) -> None:
        """The first few items and the customer each would be checked against (off the GUI thread)."""
        source = self.source.text().strip()
        if not source:
            self.preview.setText("")
            return
        options, store = self.options(), self.context.store

        def work(_task: TaskHandle) -> list[core_batch.MappingPreview]:
            return core_batch.preview_mapping(store, options.source, options.manifest, options.pattern,
                                              limit=PREVIEW_ITEMS)

        self.runner.submit("batch.preview", work, self._show_preview,
                           lambda exc, _details: self.preview.setText(f"Customers cannot be found this way: {exc}"))

    def _show_preview(self, previews: list[core_batch.MappingPreview]) -> None:
        if not previews:
            self.preview.setText("No images found in this source.")
            return
        lines = [f"{p.label}  →  {self._preview_customer(p)}" for p in previews]
        self.preview.setText("First items:  " + "   ·   ".join(lines))

    @staticmethod
    def _preview_customer(preview: core_batch.MappingPreview) -> str:
        if preview.customer_id is None:
            return f"no customer ({preview.how})"
        if not preview.known:
            return f"{preview.customer_id}: not in the reference store"
        return f"{preview.customer_id} ({preview.customer_name})" if preview.customer_name else preview.customer_id

    # --- running ----------------------------------------------------------------------
    def options(self) -> BatchOptions:
        choice = self.mapping_choice()
        manifest = Path(self.manifest.text()) if choice == "manifest" and self.manifest.text() else None
        pattern = {"prefix": core_batch.ID_BEFORE_FIRST_UNDERSCORE, "pattern": self.pattern.text()}.get(choice)
        return BatchOptions(source=Path(self.source.text().strip()), manifest=manifest, pattern=pattern,
                            workers=self.workers.value(), resume=self.resume.isChecked(),
                            user=self.context.user.username if self.context.user else None)

    def start(self) -> None:
        if not self.source.text().strip():
            self.errors.show(Explanation("No source", "Choose a folder or an X9.37 file first."))
            return
        session = self.context.session
        if session is None:
            if self.context.engine_error is not None:
                self.errors.report(self.context.engine_error, action="batch")
            else:
                self.errors.show(Explanation("Please wait", "The signature model is still loading."))
            return
        options = self.options()
        self.context.settings.setValue("batch/workers", options.workers)
        self.model.clear()
        self.outcome, self.progress_value = None, None
        self.progress.setRange(0, 0)  # busy until the source is counted
        self.progress.setFormat("starting…")
        self.status.setText("Starting…")
        self._set_running(True)
        store = self.context.store

        def work(task: TaskHandle) -> BatchOutcome:
            runner = session.batch(options, on_progress=task.progress, on_result=task.progress,
                                   should_stop=lambda: task.cancelled)
            summary = runner.run()
            results = core_batch.load_results(store, summary.run_id)
            crops = core_batch.crop_thumbnails(store, summary.run_id, [r.key for r in results[:2000]])
            return BatchOutcome(summary, results, crops)

        self.handle = self.runner.submit("batch", work, self._finished, self._failed, self._progress)

    def cancel(self) -> None:
        if self.handle is not None:
            self.handle.cancel()
            self.cancel_button.setEnabled(False)
            self.status.setText("Cancelling after the current group of items…")

    def _set_running(self, running: bool) -> None:
        self.start_button.setEnabled(not running)
        self.cancel_button.setEnabled(running)
        self.export_button.setEnabled(not running and self.outcome is not None)

    def _progress(self, value: object) -> None:
        if isinstance(value, ItemResult):
            self.model.append(value)
            return
        if not isinstance(value, BatchProgress):
            return
        self.progress_value = value
        self.progress.setRange(0, max(value.total, 1))
        self.progress.setValue(value.done)
        self.progress.setFormat(f"{value.done} of {value.total}")
        remaining = ""
        if 0 < value.done < value.total and value.elapsed > 0:
            left = value.elapsed / value.done * (value.total - value.done)
            remaining = f" · about {format_duration(left)} left"
        errors = f" · {value.errors} could not be verified" if value.errors else ""
        self.status.setText(f"{value.done} of {value.total} done{remaining}{errors}")

    def _finished(self, outcome: BatchOutcome) -> None:
        self.handle = None
        self.outcome = outcome
        summary = outcome.summary
        thumbnails = {key: pixmap_from_bytes(png) for key, png in outcome.crops.items()}
        self.model.set_results(outcome.results, thumbnails)
        self.table.sortByColumn(4, Qt.SortOrder.AscendingOrder)
        done = summary.skipped + summary.processed
        self.progress.setRange(0, max(summary.total, 1))
        self.progress.setValue(done)
        self.progress.setFormat(f"{done} of {summary.total}")
        decisions = summary.decisions
        counts = (f"{decisions.get('no_match', 0)} no match · {decisions.get('refer', 0)} refer · "
                  f"{decisions.get('match', 0)} match · {summary.errors} could not be verified")
        if summary.interrupted:
            self.status.setText(f"Cancelled after {done} of {summary.total} items ({counts}). "
                                "Tick “Continue the last run” and press Start to go on.")
        else:
            self.status.setText(f"Finished {summary.total} items in {format_duration(summary.elapsed)}: {counts}.")
        self._set_running(False)

    def _failed(self, exc: BaseException, details: str) -> None:
        self.handle = None
        self.progress.setRange(0, 1)
        self.progress.setValue(0)
        self.progress.setFormat("")
        self.status.setText("The batch could not run.")
        self._set_running(False)
        self.errors.report(exc, details, action="batch")

    # --- export -----------------------------------------------------------------------
    def export(self) -> None:
        if self.outcome is None:
            return
        start = str(Path(self._start_folder()) / f"sigverify-batch-{self.outcome.summary.run_id}.csv")
        path, chosen = QFileDialog.getSaveFileName(self, "Export the results", start, EXPORT_FILTERS)
        if path:
            self.export_to(Path(path))

    def export_to(self, path: Path) -> None:
        outcome, store = self.outcome, self.context.store
        if outcome is None:
            return
        suffix = path.suffix.lower()

        def work(_task: TaskHandle) -> Path:
            if suffix == ".json":
                core_batch.write_json(outcome.results, path, outcome.summary)
            elif suffix in (".html", ".htm"):
                core_batch.write_html(store, outcome.summary.run_id, outcome.results, path, outcome.summary)
            else:
                core_batch.write_csv(core_batch.review_order(outcome.results), path)
            return path

        started = time.perf_counter()
        self.runner.submit("batch.export", work,
                           lambda p: self.status.setText(f"Exported to {p} ({time.perf_counter() - started:.1f} s)."),
                           lambda exc, details: self.errors.report(exc, details, action="export"))
