"""Settings and about: where the data lives, the model and its card, the device, the thresholds.

Everything shown comes from the core (engine, model card, store, session); the page
only saves the user's choices (QSettings) and asks the core to reload or change things.
"""

from __future__ import annotations

import platform
import re
import sys
from dataclasses import replace
from pathlib import Path

import onnxruntime as ort
import PySide6
from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from ... import __version__
from ...core import card_summary
from ...core.calibration import CurveMark, ScoreCurves
from ...core.engine import DEVICES, Engine
from ...core.model_trust import ModelError
from ...core.paths import bundled_model_path, default_database_file, user_data_folder
from ...core.security import Permission, accept_model
from ..context import AppContext, log_file
from ..dialogs.accept_model import AcceptModelDialog, ModelFileState, inspect_model_file
from ..errors import ErrorReporter, Explanation
from ..widgets.calibration_panel import CalibrationPanel
from ..widgets.score_charts import ScoreHistogram
from ..workers import TaskHandle
from .base import Page

DEVICE_WORDS = {"auto": "Automatic (GPU when available)", "cpu": "CPU only", "cuda": "NVIDIA GPU (CUDA)"}


def _value(label: str = "") -> QLabel:
    widget = QLabel(label)
    widget.setWordWrap(True)
    widget.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return widget


def _stat(value, fmt) -> str:
    """A number, or a cross-validated {"mean", "std"} pair as "mean ± std"; "?" for anything else."""
    if isinstance(value, dict) and isinstance(value.get("mean"), int | float):
        std = value.get("std")
        return fmt(value["mean"]) + (f" ± {fmt(std)}" if isinstance(std, int | float) else "")
    return fmt(value) if isinstance(value, int | float) else "?"


def _percent(value) -> str:
    return _stat(value, lambda v: f"{100 * v:.1f} %")


def _metric_lines(metrics: dict, path: tuple[str, ...] = ()) -> list[str]:
    """One line per evaluation in the card (any nesting): where, then EER / AUC in words."""
    if "eer_skilled" in metrics or "auc" in metrics:
        # "k1"/"k5" only repeat the number of references, which is said in words
        names = {"val": "validation writers", "test": "test writers"}
        where = " · ".join(names.get(p, p) for p in path if p != "writer_disjoint" and not re.fullmatch(r"k\d+", p))
        refs = metrics.get("references")
        if isinstance(refs, int) and refs:
            where += f" with {refs} reference{'s' if refs != 1 else ''}"
        parts = [f"{where or 'evaluation'}:"]
        if "eer_skilled" in metrics:
            parts.append(f"EER {_percent(metrics['eer_skilled'])} on skilled forgeries")
        if "eer_random" in metrics:
            parts.append(f"{_percent(metrics['eer_random'])} on other writers")
        if "auc" in metrics:
            parts.append(f"AUC {_stat(metrics['auc'], lambda v: f'{v:.3f}')}")
        if "writers" in metrics:
            parts.append(f"{metrics['writers']} writers")
        return [" ".join(parts[:2]) + (", " + ", ".join(parts[2:]) if len(parts) > 2 else "")]
    lines: list[str] = []
    for key, value in metrics.items():
        if isinstance(value, dict):
            lines += _metric_lines(value, (*path, str(key)))
        elif isinstance(value, int | float | str):
            lines.append(f"{key}: {value:.4g}" if isinstance(value, float) else f"{key}: {value}")
    return lines


def _metrics_text(metrics: dict) -> str:
    return "\n".join(_metric_lines(metrics)) or "none recorded"


class PathLabel(QLabel):
    """A file path on one line, shortened in the middle to fit; the full path in the tooltip."""

    def __init__(self, path: str = ""):
        super().__init__()
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.set_path(path)

    def set_path(self, path: str) -> None:
        self.path = path
        self.setToolTip(path)
        self._elide()

    def _elide(self) -> None:
        self.setText(self.fontMetrics().elidedText(self.path, Qt.TextElideMode.ElideMiddle, max(40, self.width())))

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._elide()


class SettingsPage(Page):
    title = "Settings and about"
    subtitle = "Where sigverify keeps its data, which model it runs and where, and the decision thresholds."

    def __init__(self, context: AppContext, errors: ErrorReporter, parent: QWidget | None = None):
        super().__init__(context, errors, parent)
        self.model_state: ModelFileState | None = None
        self.dialog: AcceptModelDialog | None = None
        self._build()
        context.engine_ready.connect(self._show_engine)
        context.engine_failed.connect(lambda *_: self._show_engine(None))
        context.user_changed.connect(lambda _u: self._apply_role())
        context.thresholds_changed.connect(self._show_thresholds)
        self._apply_role()
        self._show_engine(context.engine)

    def _build(self) -> None:
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        inner = QWidget()
        columns = QGridLayout(inner)
        columns.setContentsMargins(0, 0, 8, 0)
        columns.setColumnStretch(0, 1)
        columns.setColumnStretch(1, 1)
        columns.addWidget(self._data_box(), 0, 0)
        columns.addWidget(self._thresholds_box(), 1, 0)
        columns.addWidget(self._about_box(), 2, 0)
        columns.addWidget(self._model_box(), 0, 1, 3, 1)
        # the bank's own thresholds: its own file (widgets/calibration_panel.py)
        self.calibration = CalibrationPanel(self.context, self.errors)
        columns.addWidget(self.calibration, 3, 0, 1, 2)
        columns.setRowStretch(4, 1)
        scroll.setWidget(inner)
        self.page_layout.addWidget(scroll, 1)

    # --- sections ---------------------------------------------------------------------
    def _data_box(self) -> QGroupBox:
        box = QGroupBox("Data folders")
        form = QFormLayout(box)
        self.database = PathLabel(self.context.store.location)
        change_db = QPushButton("Use another &database…")
        change_db.clicked.connect(self.choose_database)
        self.change_db_button = change_db
        form.addRow("Database:", self.database)
        form.addRow("", change_db)
        for label, path in (("Data folder:", user_data_folder()), ("Log folder:", log_file().parent)):
            row = QHBoxLayout()
            row.addWidget(PathLabel(str(path)), 1)
            button = QPushButton("Open")
            button.setAccessibleName(f"Open {label.rstrip(':').lower()}")
            button.clicked.connect(lambda _=False, p=path: self.open_folder(p))
            row.addWidget(button)
            form.addRow(label, row)
        form.addRow("Settings file:", PathLabel(self.context.settings.fileName()))
        return box

    def _model_box(self) -> QGroupBox:
        box = QGroupBox("Signature model")
        layout = QVBoxLayout(box)
        form = QFormLayout()
        self.model_file = PathLabel("")
        self.model_version = _value("")
        self.model_card = _value("")
        self.model_metrics = _value("")
        self.model_training = _value("")
        self.model_providers = _value("")
        self.model_fallback = _value("")
        self.model_fallback.setObjectName("fallbackNote")
        for label, widget in (("File:", self.model_file), ("Version:", self.model_version),
                              ("Card:", self.model_card), ("Metrics:", self.model_metrics),
                              ("Trained on:", self.model_training), ("Running on:", self.model_providers)):
            form.addRow(label, widget)
        form.addRow(self.model_fallback)
        layout.addLayout(form)
        # the card's score distribution with the thresholds, when the card records one
        self.metrics_plot = ScoreHistogram()
        self.metrics_plot.setMinimumHeight(180)
        self.metrics_plot_caption = _value("")
        self.metrics_plot_caption.setObjectName("pageSubtitle")
        layout.addWidget(self.metrics_plot)
        layout.addWidget(self.metrics_plot_caption)
        # a file that does not match its card: the hashes, and an administrator's way to accept it
        self.model_problem = _value("")
        self.model_problem.setObjectName("fallbackNote")
        self.accept_model_button = QPushButton("&Accept this model file…")
        self.accept_model_button.clicked.connect(self.accept_model_file)
        for widget in (self.model_problem, self.accept_model_button):
            widget.hide()
            layout.addWidget(widget)
        device_row = QHBoxLayout()
        self.device = QComboBox()
        for device in DEVICES:
            self.device.addItem(DEVICE_WORDS[device], device)
        self.device.setCurrentIndex(list(DEVICES).index(self.context.device))
        device_label = QLabel("De&vice:")
        device_label.setBuddy(self.device)
        self.apply_device = QPushButton("&Reload model")
        self.apply_device.clicked.connect(lambda: self.reload_model())
        self.choose_model_button = QPushButton("Choose model &file…")
        self.choose_model_button.clicked.connect(self.choose_model)
        device_row.addWidget(device_label)
        device_row.addWidget(self.device, 1)
        device_row.addWidget(self.apply_device)
        layout.addLayout(device_row)
        layout.addWidget(self.choose_model_button)
        layout.addStretch(1)
        return box

    def _thresholds_box(self) -> QGroupBox:
        box = QGroupBox("Decision thresholds")
        form = QFormLayout(box)
        self.accept = QDoubleSpinBox()
        self.reject = QDoubleSpinBox()
        for spin in (self.accept, self.reject):
            spin.setRange(-1.0, 1.0)
            spin.setDecimals(3)
            spin.setSingleStep(0.01)
        self.threshold_source = _value("")
        form.addRow("&Match at or above:", self.accept)
        form.addRow("&No match below:", self.reject)
        form.addRow("", self.threshold_source)
        row = QHBoxLayout()
        self.apply_thresholds = QPushButton("&Apply thresholds")
        self.apply_thresholds.clicked.connect(self.save_thresholds)
        self.reset_thresholds = QPushButton("Use the &model's")
        self.reset_thresholds.clicked.connect(lambda: self.save_thresholds(reset=True))
        row.addWidget(self.apply_thresholds)
        row.addWidget(self.reset_thresholds)
        row.addStretch(1)
        form.addRow("", row)
        self.thresholds_note = _value("")
        form.addRow("", self.thresholds_note)
        return box

    def _about_box(self) -> QGroupBox:
        box = QGroupBox("About")
        form = QFormLayout(box)
        form.addRow("sigverify:", _value(f"{__version__} — offline handwritten-signature verification"))
        form.addRow("Runtime:", _value(f"Python {platform.python_version()} · Qt {PySide6.__version__} · "
                                       f"onnxruntime {ort.__version__} · {sys.platform}"))
        self.user_info = _value("")
        form.addRow("Logged in:", self.user_info)
        return box

    # --- showing ----------------------------------------------------------------------
    def on_shown(self) -> None:
        self._show_engine(self.context.engine)

    def _apply_role(self) -> None:
        user = self.context.user
        admin_thresholds = self.context.can(Permission.SET_THRESHOLDS)
        for widget in (self.accept, self.reject, self.apply_thresholds, self.reset_thresholds):
            widget.setEnabled(admin_thresholds)
        self.thresholds_note.setText("" if admin_thresholds else "Only administrators can change the thresholds.")
        can_model = self.context.can(Permission.CHANGE_MODEL)
        self.choose_model_button.setEnabled(can_model)
        self.change_db_button.setEnabled(can_model)
        if user is not None:
            self.user_info.setText(f"{user.username} ({user.role.label})")

    def _show_engine(self, engine: Engine | None) -> None:
        self._show_model_problem(None)
        if engine is not None or isinstance(self.context.engine_error, ModelError | PermissionError):
            self._inspect_model_file(engine)
        if engine is None:
            error = self.context.engine_error
            self.model_file.set_path(self.context.model_path or "the bundled model")
            self.model_version.setText("not loaded" + (f": {error}" if error else " yet"))
            for widget in (self.model_card, self.model_metrics, self.model_training, self.model_providers,
                           self.model_fallback):
                widget.setText("")
            return
        meta, check = engine.metadata, engine.check
        self.model_file.set_path(str(engine.path))
        self.model_version.setText(f"{meta.version}" + (f" (built {meta.created[:10]})" if meta.created else ""))
        card = check.card
        if card is None:
            card_text = "no card beside the model file"
        elif check.accepted:
            card_text = "does NOT match the file; running because an administrator accepted this exact file"
        else:
            card_text = "matches the file (SHA-256 checked)" if check.card_matches else "present, no checksum"
        self.model_card.setText(f"{card_text}; SHA-256 {check.sha256[:16]}…")
        self._show_metrics((card.metrics if card else {}) or meta.metrics, meta)
        self.model_training.setText((card.training_data if card else "") or meta.training_data or "not stated")
        providers = ", ".join(engine.providers)
        self.model_providers.setText(f"{engine.device_label} — providers in use: {providers}")
        self.model_fallback.setText(engine.fallback_message or "")
        self._show_thresholds()

    def _show_metrics(self, metrics: dict, meta) -> None:
        """The card's figures as consequences in words; the engineers' figures in the tooltip."""
        found = card_summary.evaluations(metrics)
        self.model_metrics.setText("At the model's own thresholds, on signatures it was not trained on:\n"
                                   + card_summary.describe(found) if found else "none recorded")
        self.model_metrics.setToolTip(_metrics_text(metrics))
        chosen = card_summary.first_distribution(found)
        self.metrics_plot.setVisible(chosen is not None)
        if chosen is None:
            self.metrics_plot.set_curves(None)
            self.metrics_plot_caption.setText("The model card records no score distribution to draw."
                                              if found else "")
            return
        evaluation, outcome = chosen
        session = self.context.session
        t = session.thresholds().for_references(outcome.references) if session is not None else None
        accept, reject = (t.accept, t.reject) if t is not None else (meta.tau_accept, meta.tau_reject)
        d = outcome.distribution
        self.metrics_plot.set_curves(ScoreCurves(d.edges, d.genuine, d.forged, (), (), (
            CurveMark("no match now", reject, 0.0, 0.0), CurveMark("match now", accept, 0.0, 0.0))))
        self.metrics_plot_caption.setText(
            f"Scores of genuine signatures (green) and skilled forgeries (red), {evaluation.name}, with "
            f"{outcome.references} reference{'s' if outcome.references != 1 else ''}. Dashed lines: no match "
            f"below {reject:.2f}, match from {accept:.2f}; between them, refer.")

    def _show_thresholds(self) -> None:
        session = self.context.session
        if session is None:
            return
        t = session.thresholds()
        self.accept.setValue(t.accept)
        self.reject.setValue(t.reject)
        self.threshold_source.setText("set by an administrator" if t.source == "administrator"
                                      else "the model's own (from its validation)")

    def _inspect_model_file(self, engine: Engine | None) -> None:
        """Hash the model file in the background: does it match its card, may clerks run it?"""
        if engine is not None:
            path = engine.path
        else:
            path = Path(self.context.model_path) if self.context.model_path else bundled_model_path()
        store = self.context.store
        self.runner.submit("settings.model_file", lambda _t: inspect_model_file(path, store),
                           self._show_model_problem,
                           lambda exc, details: self.errors.report(exc, details, action="check model file"))

    def _show_model_problem(self, state: ModelFileState | None) -> None:
        self.model_state = state if state is not None and state.needs_acceptance else None
        self.model_problem.setVisible(self.model_state is not None)
        self.accept_model_button.setVisible(self.model_state is not None)
        if self.model_state is None:
            return
        who = ("Check where it comes from before accepting it." if self.context.can(Permission.CHANGE_MODEL)
               else "Only an administrator can accept it: ask one.")
        if state.mismatch:
            # the start of each hash here; both in full in the acceptance dialog
            self.model_problem.setText(f"This file does not match its model card (file SHA-256 "
                                       f"{state.sha256[:16]}…, card {(state.card_sha256 or 'none')[:16]}…). {who}")
        else:
            self.model_problem.setText("This is not the bundled model: clerks cannot verify with it until an "
                                       f"administrator accepts this exact file (SHA-256 {state.sha256[:16]}…). {who}")

    def accept_model_file(self) -> None:
        """An administrator confirms the exact file; anyone else hears the core's refusal and its reason."""
        state = self.model_state
        if state is None:
            return
        if not self.context.can(Permission.CHANGE_MODEL):
            self._accept(state, "")  # the core refuses it, and says who may
            return
        dialog = AcceptModelDialog(state, self)
        dialog.accepted.connect(lambda: self._accept(state, dialog.reason.text().strip()))
        self.dialog = dialog
        dialog.open()

    def _accept(self, state: ModelFileState, reason: str) -> None:
        store, user = self.context.store, self.context.user

        def work(_task: TaskHandle) -> dict:
            # administrators only; loads the file to be sure it is a model; audited with the setting
            return accept_model(store, user, state.path, reason=reason)

        def accepted(_entry: dict) -> None:
            self.model_version.setText("loading…")
            self.context.load_engine()

        self.runner.submit("settings.accept_model", work, accepted,
                           lambda exc, details: self.errors.report(exc, details, action="accept model"))

    # --- changing ---------------------------------------------------------------------
    def save_thresholds(self, reset: bool = False) -> None:
        session = self.context.session
        if session is None:
            return
        accept, reject = (None, None) if reset else (self.accept.value(), self.reject.value())

        def work(_task: TaskHandle):
            return session.set_thresholds(accept, reject)

        self.runner.submit("settings.thresholds", work, lambda _t: self.context.thresholds_changed.emit(),
                           lambda exc, details: self.errors.report(exc, details, action="set thresholds"))

    def reload_model(self, model_path: str | None = None) -> None:
        """Load again with the chosen device (and model file); the choice is saved for next time."""
        device = self.device.currentData()
        self.context.settings.setValue("model/device", device)
        # a choice made here wins over the command line's --device (and --model) from now on
        self.context.options = replace(self.context.options, device=None)
        if model_path:
            self.context.settings.setValue("model/path", model_path)
            self.context.options = replace(self.context.options, model=None)
        self.model_version.setText("loading…")
        self.context.load_engine()

    def choose_model(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Signature model", str(Path.home()), "ONNX models (*.onnx)")
        if path:
            self.reload_model(path)

    def choose_database(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Database file", str(default_database_file()),
                                              "SQLite databases (*.db);;All files (*)",
                                              options=QFileDialog.Option.DontConfirmOverwrite)
        if path:
            self.context.settings.setValue("database/url", f"sqlite:///{path}")
            self.errors.show(Explanation("Restart needed", f"sigverify will use {path} from its next start.",
                                         "Close and start sigverify again."), QMessageBox.Icon.Information)

    def open_folder(self, path: Path) -> None:
        path.mkdir(parents=True, exist_ok=True)
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(path)))
