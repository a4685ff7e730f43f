"""Settings → "Calibrate to your customers": propose thresholds from the bank's own labelled
verifications, show them with the score histograms and the DET curve, apply or revert (administrators).

Everything runs on the task runner; the core computes (``calibration_data.propose``,
``calibration.curves_for``, ``calibration_history``), the panel shows and asks.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ...core.calibration import Calibration, ScoreCurves, curves_for
from ...core.calibration_data import LABEL_POLICIES, label_policy, propose, set_label_policy
from ...core.calibration_history import (
    CalibrationStatus,
    apply_calibration,
    calibration_status,
    revert_calibration,
)
from ...core.calibration_report import report_lines
from ...core.security import Permission
from ..workers import TaskHandle
from .score_charts import DetCurve, ScoreHistogram

CONFIDENCES = (0.90, 0.95, 0.99)


@dataclass(frozen=True)
class Proposal:
    """What the background task hands back to the GUI thread."""

    calibration: Calibration
    curves: ScoreCurves
    status: CalibrationStatus


def _percent_spin(value: float) -> QDoubleSpinBox:
    spin = QDoubleSpinBox()
    spin.setRange(0.1, 20.0)
    spin.setDecimals(2)
    spin.setSingleStep(0.5)
    spin.setSuffix(" %")
    spin.setValue(value)
    return spin


class CalibrationPanel(QGroupBox):
    def __init__(self, context, errors, parent: QWidget | None = None):
        super().__init__("Calibrate to your customers", parent)
        self.context, self.errors, self.runner = context, errors, context.runner
        self.proposal: Proposal | None = None
        self._build()
        context.user_changed.connect(lambda _u: self._apply_role())
        context.engine_ready.connect(lambda _e: self.refresh_status())
        context.thresholds_changed.connect(self.refresh_status)
        self._apply_role()

    def _build(self) -> None:
        layout = QVBoxLayout(self)
        intro = QLabel("Thresholds from your own labelled verifications (final accept = genuine, reject = "
                       "forged). A side with too little data is refused, not guessed; nothing changes until "
                       "you apply the proposal, and every change is audited and can be reverted.")
        intro.setWordWrap(True)
        layout.addWidget(intro)
        targets = QHBoxLayout()
        self.target_far, self.target_frr = _percent_spin(1.0), _percent_spin(1.0)
        self.confidence = QComboBox()
        for c in CONFIDENCES:
            self.confidence.addItem(f"{c:.0%}", c)
        self.confidence.setCurrentIndex(CONFIDENCES.index(0.95))
        self.policy = QComboBox()
        for name, words in LABEL_POLICIES.items():
            self.policy.addItem(f"labels: {name}", name)
            self.policy.setItemData(self.policy.count() - 1, words, Qt.ItemDataRole.ToolTipRole)
        self.policy.activated.connect(lambda _i: self.save_policy())
        for label, widget in (("FAR at match ≤", self.target_far), ("FRR at no match ≤", self.target_frr),
                              ("confidence", self.confidence), ("", self.policy)):
            targets.addWidget(QLabel(label))
            targets.addWidget(widget)
        targets.addStretch(1)
        layout.addLayout(targets)
        sources = QHBoxLayout()
        self.use_store = QCheckBox("recorded verifications")
        self.use_store.setChecked(True)
        self.folder = QLineEdit()
        self.folder.setPlaceholderText("and/or a labelled folder: <customer>/genuine, <customer>/forged")
        browse = QPushButton("Folder…")
        browse.clicked.connect(self.choose_folder)
        for widget in (self.use_store, self.folder, browse):
            sources.addWidget(widget, 1 if widget is self.folder else 0)
        layout.addLayout(sources)
        buttons = QHBoxLayout()
        self.compute_button = QPushButton("&Compute proposal")
        self.compute_button.clicked.connect(self.compute)
        self.apply_button = QPushButton("A&pply proposal")
        self.apply_button.clicked.connect(self.apply)
        self.revert_button = QPushButton("Re&vert calibration")
        self.revert_button.clicked.connect(self.revert)
        for button in (self.compute_button, self.apply_button, self.revert_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        layout.addLayout(buttons)
        self.status = QLabel("")
        self.status.setObjectName("calibrationStatus")
        self.status.setWordWrap(True)
        layout.addWidget(self.status)
        charts = QHBoxLayout()
        self.histogram, self.det = ScoreHistogram(), DetCurve()
        charts.addWidget(self.histogram)
        charts.addWidget(self.det)
        layout.addLayout(charts)
        self.report = QPlainTextEdit()
        self.report.setReadOnly(True)
        self.report.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.report.setMinimumHeight(160)
        self.report.setPlaceholderText("Compute a proposal to see the thresholds, their confidence and the counts.")
        layout.addWidget(self.report)

    # --- state ------------------------------------------------------------------------
    def _apply_role(self) -> None:
        allowed = self.context.can(Permission.SET_THRESHOLDS)
        for widget in (self.compute_button, self.revert_button, self.target_far, self.target_frr, self.confidence,
                       self.use_store, self.folder, self.policy):
            widget.setEnabled(allowed)
        self._enable_apply()
        if not allowed:
            self.status.setText("Only administrators can calibrate the thresholds.")
        else:
            self.refresh_status()

    def _enable_apply(self) -> None:
        ready = self.proposal is not None and self.proposal.calibration.overall.anything_proposed
        self.apply_button.setEnabled(bool(ready) and self.context.can(Permission.SET_THRESHOLDS))

    def refresh_status(self) -> None:
        session = self.context.session
        if session is None or not self.context.can(Permission.SET_THRESHOLDS):
            return
        store, version = session.store, session.model_version
        self.runner.submit("calibration.status", lambda _t: (calibration_status(store, version), label_policy(store)),
                           self._show_status,
                           lambda exc, details: self.errors.report(exc, details, action="read the calibration"))

    def _show_status(self, state: tuple[CalibrationStatus, str]) -> None:
        status, policy = state
        self.status.setText(status.message[:1].upper() + status.message[1:] + ".")
        self.policy.setCurrentIndex(self.policy.findData(policy))

    def save_policy(self) -> None:
        """Which final decisions count as labels: an administrator's choice, audited by the core."""
        session, policy = self.context.session, self.policy.currentData()
        if session is None:
            return
        user, store, audit = session.user, session.store, session.audit
        self.runner.submit("calibration.policy", lambda _t: set_label_policy(store, user, policy, audit),
                           lambda p: self.status.setText(f"Labels from now on: {LABEL_POLICIES[p]}."),
                           self._failed("set the label policy"))

    # --- actions ----------------------------------------------------------------------
    def choose_folder(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Labelled folder", str(Path.home()))
        if path:
            self.folder.setText(path)

    def compute(self) -> None:
        session = self.context.session
        if session is None:
            self.status.setText("The model is not loaded yet.")
            return
        folder = Path(self.folder.text().strip()) if self.folder.text().strip() else None
        options = {"use_store": self.use_store.isChecked(), "folder": folder,
                   "target_far": self.target_far.value() / 100, "target_frr": self.target_frr.value() / 100,
                   "confidence": self.confidence.currentData()}
        user = session.user

        def work(task: TaskHandle) -> Proposal:
            calibration = propose(session, user, progress=lambda done, total: task.progress((done, total)),
                                  **options)
            return Proposal(calibration, curves_for(calibration),
                            calibration_status(session.store, session.model_version))

        self.proposal = None
        self._enable_apply()
        self.compute_button.setEnabled(False)
        self.status.setText("Computing…")
        self.runner.submit("calibration.propose", work, self._show_proposal, self._failed("compute the proposal"),
                           lambda p: self.status.setText(f"Scoring the folder: {p[0]} of {p[1]} files…"))

    def _failed(self, action: str):
        def report(exc: BaseException, details: str) -> None:
            self.compute_button.setEnabled(self.context.can(Permission.SET_THRESHOLDS))
            self.status.setText(f"Could not {action}: {exc}")
            self.errors.report(exc, details, action=action)

        return report

    def _show_proposal(self, proposal: Proposal) -> None:
        self.proposal = proposal
        self.compute_button.setEnabled(True)
        self.report.setPlainText("\n".join(report_lines(proposal.calibration)))
        self.histogram.set_curves(proposal.curves)
        self.det.set_curves(proposal.curves)
        g = proposal.calibration.overall
        self.status.setText(
            f"Proposed: match at or above {g.proposed.accept:.4f}, no match below {g.proposed.reject:.4f}; refer "
            f"rate {g.outcomes_now.refer:.1%} now → {g.outcomes_proposed.refer:.1%}. " +
            ("Nothing is applied until you press Apply." if g.anything_proposed
             else "Both sides refused for lack of data: nothing to apply."))
        self._enable_apply()

    def apply(self) -> None:
        session, proposal = self.context.session, self.proposal
        if session is None or proposal is None:
            return
        user, store, audit, version = session.user, session.store, session.audit, session.model_version

        def done(event) -> None:
            self.proposal = None
            self._enable_apply()
            self.status.setText(f"Applied (audit record {event.audit_id}): match at or above "
                                f"{event.thresholds.accept:.4f}, no match below {event.thresholds.reject:.4f}.")
            self.context.thresholds_changed.emit()

        self.runner.submit("calibration.apply",
                           lambda _t: apply_calibration(store, user, proposal.calibration, version, audit), done,
                           self._failed("apply the calibration"))

    def revert(self) -> None:
        session = self.context.session
        if session is None:
            return
        user, store, audit = session.user, session.store, session.audit

        def done(event) -> None:
            self.status.setText(f"Calibration {event.reverted_id} reverted (audit record {event.audit_id}).")
            self.context.thresholds_changed.emit()

        self.runner.submit("calibration.revert", lambda _t: revert_calibration(store, user, audit), done,
                           self._failed("revert the calibration"))
