"""Verify page: drop a cheque, pick the customer, read the decision, record the clerk's own.

All work runs on the task runner under the key ``"verify"``: a new file, a new customer or a
corrected box submits again, and whatever was still running for the old inputs is dropped.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtGui import QKeyEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QApplication,
    QFileDialog,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QSplitter,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ...core.imaging import LoadedImage, load_image
from ...core.paths import image_file_filter
from ...core.pipeline import NoSignatureError, PreparedSignature, UnsignedChequeError
from ...core.score_scale import SCALE_MAX, shown_score, similarity
from ...core.store import Reference, StoreError
from ...core.verify import FINAL_DECISIONS, VerificationResult
from ..context import AppContext
from ..errors import ErrorReporter, Explanation, looks_blank
from ..widgets.cheque_view import ChequeView
from ..widgets.customer_field import CustomerField
from ..widgets.decision_banner import DecisionBanner
from ..widgets.drop_zone import DropZone, image_png_bytes, local_paths
from ..widgets.images import ink_on_paper, ink_on_paper_png, pixmap_from_array
from ..widgets.score_gauge import ScoreGauge
from ..widgets.signature_strip import SignatureStrip, Tile
from ..workers import TaskHandle
from .base import Page

FINAL_LABELS = {"accept": "&Accept", "reject": "Re&ject", "refer_to_supervisor": "Refer to &supervisor"}
FINAL_WORDS = {"accept": "accepted", "reject": "rejected", "refer_to_supervisor": "referred to a supervisor"}


@dataclass(frozen=True)
class VerifyOutcome:
    """What one background run produced: always the image; the rest when it got that far."""

    image: LoadedImage
    prepared: PreparedSignature | None
    result: VerificationResult | None
    references: list[tuple[Reference, bytes]]  # (reference, normalised PNG)
    error: BaseException | None = None
    seconds: float = 0.0


class VerifyPage(Page):
    title = "Verify a cheque"
    subtitle = ("Drop a scanned cheque or signature (or press Ctrl+O / Ctrl+V), choose the customer and press "
                "Enter. Drag the blue box to correct the signature area.")
    verified = Signal(object)  # VerificationResult, for the main window and tests
    outcome_shown = Signal(object)  # VerifyOutcome, after the page updated

    def __init__(self, context: AppContext, errors: ErrorReporter, parent: QWidget | None = None):
        super().__init__(context, errors, parent)
        self.source: str | bytes | None = None
        self.source_name: str | None = None
        self.user_box: tuple[int, int, int, int] | None = None
        self.outcome: VerifyOutcome | None = None
        self._waiting_for_engine = False
        self._build()
        self._connect()
        self.context.customers_changed.connect(self.refresh_customers)
        self.context.engine_ready.connect(self._engine_ready)
        self.refresh_customers()

    # --- layout -----------------------------------------------------------------------
    def _build(self) -> None:
        top = QHBoxLayout()
        customer_label = QLabel("&Customer:")
        self.customer = CustomerField()
        customer_label.setBuddy(self.customer)
        self.customer_list_button = QToolButton()
        self.customer_list_button.setText("▾")
        self.customer_list_button.setToolTip("Show all customers")
        self.customer_list_button.setAccessibleName("Show all customers")
        self.customer_list_button.clicked.connect(self.customer.show_all)
        self.customer_info = QLabel("")
        self.customer_info.setObjectName("pageSubtitle")
        self.open_button = QPushButton("&Open…")
        self.open_button.setToolTip("Open a scanned cheque or signature (Ctrl+O)")
        self.paste_button = QPushButton("&Paste")
        self.paste_button.setToolTip("Paste an image or a copied file (Ctrl+V)")
        self.verify_button = QPushButton("&Verify")
        self.verify_button.setToolTip("Verify the signature against the customer (Enter)")
        self.verify_button.setObjectName("primaryButton")
        top.addWidget(customer_label)
        top.addWidget(self.customer, 2)
        top.addWidget(self.customer_list_button)
        top.addWidget(self.customer_info, 2)
        top.addWidget(self.open_button)
        top.addWidget(self.paste_button)
        top.addWidget(self.verify_button)
        self.page_layout.addLayout(top)

        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.setChildrenCollapsible(False)
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        self.drop_zone = DropZone("Drop a scanned cheque or signature here\n\nor click to open a file (Ctrl+O),"
                                  " or paste one (Ctrl+V)")
        self.drop_zone.setMinimumSize(360, 260)
        self.cheque_view = ChequeView()
        left_layout.addWidget(self.drop_zone, 1)
        self._left = left
        left.installEventFilter(self)
        box_row = QHBoxLayout()
        self.file_label = QLabel("")
        self.file_label.setObjectName("pageSubtitle")
        self.file_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.reset_box_button = QPushButton("&Reset box")
        self.reset_box_button.setToolTip("Go back to the signature box sigverify found (Esc on the image)")
        self.reset_box_button.setEnabled(False)
        box_row.addWidget(self.file_label, 1)
        box_row.addWidget(self.reset_box_button)
        left_layout.addLayout(box_row)
        splitter.addWidget(left)

        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(8, 0, 0, 0)
        right_layout.setSpacing(8)
        self.banner = DecisionBanner()
        self.gauge = ScoreGauge()
        self.score_label = QLabel("")
        self.score_label.setWordWrap(True)
        self.signatures = SignatureStrip(columns=2)
        final_box = QGridLayout()
        final_title = QLabel("Your decision (goes to the audit record):")
        final_title.setObjectName("sectionLabel")
        final_box.addWidget(final_title, 0, 0, 1, 3)
        self.final_buttons: dict[str, QPushButton] = {}
        for column, final in enumerate(FINAL_DECISIONS):
            button = QPushButton(FINAL_LABELS[final])
            button.setEnabled(False)
            button.clicked.connect(lambda _=False, f=final: self.record_final(f))
            self.final_buttons[final] = button
            final_box.addWidget(button, 1, column)
        self.final_label = QLabel("")
        self.final_label.setWordWrap(True)
        final_box.addWidget(self.final_label, 2, 0, 1, 3)
        right_layout.addWidget(self.banner)
        right_layout.addWidget(self.gauge)
        right_layout.addWidget(self.signatures, 1)
        # under the cheque: the clerk's decision and the explanation, so the cheque keeps its shape
        left_layout.addSpacing(6)
        left_layout.addLayout(final_box)
        left_layout.addWidget(self.score_label)
        left_layout.addStretch(0)  # stretch 0: the cheque grows to its shape first, the gap takes the rest
        keys = QLabel("Keyboard: Ctrl+O open · Ctrl+V paste · Alt+C customer · Enter verify · Alt+I (or Tab from "
                      "the customer) to the image, then arrows move the box, Shift+arrows resize it, Esc puts it "
                      "back · Alt+A accept · Alt+J reject · Alt+S refer to supervisor · Ctrl+1…5 pages")
        keys.setObjectName("pageSubtitle")
        keys.setWordWrap(True)
        left_layout.addWidget(keys)
        splitter.addWidget(right)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        self.page_layout.addWidget(splitter, 1)
        self._update_gauge(None)
        # the image straight after the customer: Tab from the field, or Alt+I from anywhere on the page
        self.drop_zone.set_content(self.cheque_view)  # in the window from the start, for the tab order
        self.drop_zone.show_hint()
        QWidget.setTabOrder(self.customer, self.cheque_view)
        QWidget.setTabOrder(self.cheque_view, self.verify_button)
        to_image = QShortcut(QKeySequence("Alt+I"), self, self.focus_image)
        to_image.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)

    def focus_image(self) -> None:
        if self.outcome is not None and self.cheque_view.isVisible():
            self.cheque_view.setFocus(Qt.FocusReason.ShortcutFocusReason)

    def _connect(self) -> None:
        self.drop_zone.files_dropped.connect(lambda paths: self.load_file(paths[0]))
        self.drop_zone.image_dropped.connect(lambda data: self.load_bytes(data, "dropped image"))
        self.drop_zone.activated.connect(self.open_file)
        self.open_button.clicked.connect(self.open_file)
        self.paste_button.clicked.connect(self.paste)
        self.verify_button.clicked.connect(self.verify_now)
        self.reset_box_button.clicked.connect(self.reset_box)
        self.cheque_view.box_edited.connect(self.set_box)
        self.customer.chosen.connect(self._customer_chosen)
        self.customer.textEdited.connect(self._customer_edited)
        self.customer.textChanged.connect(lambda _t: self.customer_info.setText(self.customer.describe()))

    def eventFilter(self, watched, event) -> bool:
        # the left column's own resize (splitter, window): its width sets the cheque's height
        if watched is self._left and event.type() == QEvent.Type.Resize:
            self._fit_drop_zone()
        return super().eventFilter(watched, event)

    def _fit_drop_zone(self) -> None:
        """With a cheque shown, the zone takes the cheque's shape; empty, it takes the room it gets."""
        if self.outcome is None:
            self.drop_zone.setMaximumHeight(16_777_215)
            return
        height, width = self.outcome.image.rgb.shape[:2]
        self.drop_zone.setMaximumHeight(max(260, int(self._left.width() * height / max(width, 1)) + 8))

    def keyPressEvent(self, event: QKeyEvent) -> None:
        # Enter that no child used (the customer field and the image pass it on) verifies;
        # on a focused button it presses that button, as it would in a dialog
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            focused = QApplication.focusWidget()
            if isinstance(focused, QPushButton) and self.isAncestorOf(focused):
                focused.click()
            else:
                self.verify_now()
            event.accept()
            return
        super().keyPressEvent(event)

    # --- inputs -----------------------------------------------------------------------
    def open_file(self) -> None:
        start = str(self.context.settings.value("verify/last_folder", str(Path.home())))
        path, _ = QFileDialog.getOpenFileName(self, "Open a scanned cheque or signature", start, image_file_filter())
        if path:
            self.context.settings.setValue("verify/last_folder", str(Path(path).parent))
            self.load_file(path)

    def paste(self) -> None:
        mime = QApplication.clipboard().mimeData()
        paths = local_paths(mime) if mime is not None else []
        if paths:
            self.load_file(paths[0])
            return
        data = image_png_bytes(mime) if mime is not None else None
        if data:
            self.load_bytes(data, "pasted image")
            return
        self.errors.show(Explanation("Nothing to paste", "The clipboard holds no image and no image file.",
                                     "Copy the scanned cheque (or its file) first."))

    def load_file(self, path: str) -> None:
        self._new_source(path, Path(path).name)

    def load_bytes(self, data: bytes, name: str) -> None:
        self._new_source(data, name)

    def _new_source(self, source: str | bytes, name: str) -> None:
        self.source, self.source_name, self.user_box, self.outcome = source, name, None, None
        self.reset_box_button.setEnabled(False)  # nothing was moved on the new image
        self.file_label.setText(name)
        self.signatures.set_tiles([])
        self.drop_zone.show_hint("Reading the cheque…")
        self._clear_result("Finding the signature…")
        self._submit(verify=bool(self.customer.customer_id()))

    def set_box(self, box: tuple[int, int, int, int]) -> None:
        """The clerk corrected the signature box: verify again on that crop."""
        self.user_box = tuple(int(v) for v in box)  # type: ignore[assignment]
        self.reset_box_button.setEnabled(True)
        self._clear_result("Checking the corrected signature…")
        self._submit(verify=bool(self.customer.customer_id()))

    def reset_box(self) -> None:
        self.user_box = None
        self.reset_box_button.setEnabled(False)
        self._clear_result("Finding the signature…")
        self._submit(verify=bool(self.customer.customer_id()))

    def verify_now(self) -> None:
        if self.cheque_view.take_pending_edit():
            self.user_box = self.cheque_view.box()
            self.reset_box_button.setEnabled(True)
        if self.source is None:
            self.errors.show(Explanation("No cheque yet", "Open or drop the scanned cheque first.",
                                         "Ctrl+O opens a file; Ctrl+V pastes one."))
            return
        if not self.customer.customer_id():
            self.customer.setFocus()
            self.errors.show(Explanation("Which customer?", "Type the customer ID (or name) first."))
            return
        lookup = self.customer.lookup()
        if lookup.ambiguous:
            self.customer.setFocus()
            self.errors.show(Explanation(
                "Which customer?", f"\u201c{lookup.text}\u201d fits {len(lookup.candidates)} customers: "
                f"{lookup.describe_candidates()}.", "Type more of the name, or the customer ID, or choose from "
                "the list (\u25be)."))
            return
        self._clear_result("Verifying…")
        self._submit(verify=True)

    def _customer_chosen(self, _customer_id: str) -> None:
        self.customer_info.setText(self.customer.describe())
        if self.source is not None:
            self.verify_now()

    def _customer_edited(self, _text: str) -> None:
        # a verification for the previous customer must not land under the new one
        self.runner.invalidate("verify")
        self.customer_info.setText(self.customer.describe())
        if self.outcome is not None and self.outcome.result is not None:
            self._clear_result("Press Enter to verify against this customer")

    def _customer_to_check(self) -> str:
        """The ID the typed ID or name stands for; '' while it fits several customers."""
        lookup = self.customer.lookup()
        if lookup.customer is not None:
            if self.customer.customer_id() != lookup.customer.customer_id:
                self.customer.setText(lookup.customer.customer_id)  # the clerk sees whom it found
                self.customer.completer().popup().hide()
            return lookup.customer.customer_id
        # not in the list loaded here (another desk may have just added it): the store decides
        return "" if lookup.ambiguous else self.customer.customer_id()

    # --- background work --------------------------------------------------------------
    def _submit(self, verify: bool) -> None:
        session = self.context.session
        if session is None:
            if self.context.engine_error is not None:
                self.errors.report(self.context.engine_error, action="verify")
                return
            self._waiting_for_engine = True
            self.banner.clear_decision("Loading the signature model…")
            return
        source, name, box = self.source, self.source_name, self.user_box
        customer_id = self._customer_to_check() if verify else ""
        store = self.context.store

        def work(task: TaskHandle) -> VerifyOutcome:
            started = time.perf_counter()
            try:
                prepared = session.prepare(source, name, box)
            except UnsignedChequeError as unsigned:
                # a cheque judged unsigned is a "refer" for a person, shown with the cheque (the clerk
                # may still draw the box by hand); without a customer yet, the hint says what to do
                image = unsigned.image or load_image(source, name=name)
                if not customer_id:
                    return VerifyOutcome(image, None, None, [], unsigned)
                try:
                    result = session.refer_unsigned(customer_id, unsigned)
                except Exception as exc:  # noqa: BLE001 - unknown customer, no references, refused...
                    return VerifyOutcome(image, None, None, [], exc)
                refs = [(ref, store.reference_images(ref.id)[1]) for ref in store.references_for(customer_id)]
                return VerifyOutcome(image, None, result, refs, None, time.perf_counter() - started)
            except NoSignatureError as exc:
                # still show the cheque, so the clerk can draw the box by hand
                return VerifyOutcome(load_image(source, name=name), None, None, [], exc)
            task.check()
            result, refs = None, []
            if customer_id:
                try:
                    result = session.verify(customer_id, prepared)
                except Exception as exc:  # noqa: BLE001 - unknown customer, no references, refused...
                    # the cheque and its signature stay on screen beside the message
                    return VerifyOutcome(prepared.image, prepared, None, [], exc)
                refs = [(ref, store.reference_images(ref.id)[1]) for ref in store.references_for(customer_id)]
            return VerifyOutcome(prepared.image, prepared, result, refs, None, time.perf_counter() - started)

        self.runner.submit("verify", work, self._show_outcome, self._failed)

    def _engine_ready(self, _engine) -> None:
        self._update_gauge(None if self.outcome is None or self.outcome.result is None else self.outcome.result)
        if self._waiting_for_engine and self.source is not None:
            self._waiting_for_engine = False
            self._submit(verify=bool(self.customer.customer_id()))

    def _failed(self, exc: BaseException, details: str) -> None:
        self._clear_result("")
        if self.outcome is None:
            self.reset_box_button.setEnabled(False)  # no image, so no box to put back
            self.drop_zone.show_hint("Drop a scanned cheque or signature here\n\nor click to open a file (Ctrl+O)")
        self.errors.report(exc, details, action="verify")

    # --- results ----------------------------------------------------------------------
    def _show_outcome(self, outcome: VerifyOutcome) -> None:
        if self.outcome is None:  # a new file: show it; later runs only move the box
            self.cheque_view.set_image(pixmap_from_array(outcome.image.rgb),
                                       outcome.prepared.box if outcome.prepared else None)
            self.drop_zone.set_content(self.cheque_view)
            self.outcome = outcome
            self._fit_drop_zone()
        elif outcome.prepared is not None:
            self.cheque_view.set_box(outcome.prepared.box)
        self.outcome = outcome
        tiles = [self._questioned_tile(outcome.prepared)] if outcome.prepared else []
        if outcome.error is not None:
            self.signatures.set_tiles(tiles)
            explanation = self.errors.report(outcome.error, action="verify")
            if outcome.prepared is not None:
                self._clear_result(f"Not verified: {explanation.title.lower()}")
            elif looks_blank(outcome.error):
                self._clear_result("The image looks blank: scan the signed side again")
            else:
                self._clear_result("No signature found: drag on the image to draw a box around it")
            self.outcome_shown.emit(outcome)
            return
        result = outcome.result
        if result is None:
            self._clear_result("Signature found. Choose the customer and press Enter.")
        else:
            scores = {r.reference_id: r.score for r in result.reference_scores}
            best = result.best_reference_id
            for number, (ref, png) in enumerate(outcome.references, start=1):
                t = result.thresholds
                caption = (f"similarity {shown_score(scores[ref.id], t.accept, t.reject)}" if ref.id in scores
                           else "not compared") + (" · best" if ref.id == best else "")
                tiles.append(Tile(f"Reference {number}", ink_on_paper_png(png), caption))
            self._show_result(result, outcome.seconds)
            self.verified.emit(result)
        self.signatures.set_tiles(tiles)
        self.outcome_shown.emit(outcome)

    def _show_result(self, result: VerificationResult, seconds: float) -> None:
        t = result.thresholds
        if result.score is None:  # an unsigned cheque: nothing was compared
            self.banner.set_decision(result.decision.value, result.decision.label,
                                     f"{result.reason}. Or drag on the cheque to box a signature by hand.")
            self._update_gauge(None)
            self.score_label.setText(f"Customer {result.customer_id}: not compared with the references.")
        else:
            detail = f"similarity {shown_score(result.score, t.accept, t.reject)} of {SCALE_MAX}"
            self.banner.set_decision(result.decision.value, result.decision.label, detail)
            self._update_gauge(result)
            self._describe_scoring(result, seconds)
        for button in self.final_buttons.values():
            button.setEnabled(result.record_id is not None)
        self.final_label.setText("")

    def _describe_scoring(self, result: VerificationResult, seconds: float) -> None:
        t = result.thresholds
        source = "set by an administrator" if t.source == "administrator" else "from the model"
        self.score_label.setText(
            f"Customer {result.customer_id}: best of {len(result.reference_scores)} reference(s). "
            f"Match at {similarity(t.accept)} or above, no match below {similarity(t.reject)} "
            f"(similarity 0–{SCALE_MAX}; thresholds {source}). Checked in {seconds:.2f} s.")

    def _questioned_tile(self, prepared: PreparedSignature) -> Tile:
        """The signature being checked, described as what it is: a crop, found, or boxed by hand."""
        if self.user_box is not None:
            caption = "box set by hand"
        elif prepared.box is not None:
            caption = "found on the cheque"
        else:
            caption = "a crop, as given"
        return Tile("This signature", ink_on_paper(prepared.normalized), caption, highlight=True)

    def _update_gauge(self, result: VerificationResult | None) -> None:
        if result is not None and result.score is not None:
            self.gauge.set_values(result.score, result.thresholds.accept, result.thresholds.reject)
        elif self.context.session is not None:
            try:
                t = self.context.session.thresholds()
            except StoreError:  # server out of reach: keep the last ones; the check itself will say so
                t = self.gauge
            self.gauge.set_values(None, t.accept, t.reject)
        else:
            self.gauge.set_values(None, self.gauge.accept, self.gauge.reject)

    def _clear_result(self, message: str) -> None:
        self.banner.clear_decision(message)
        self.score_label.setText("")
        self.final_label.setText("")
        self._update_gauge(None)
        for button in self.final_buttons.values():
            button.setEnabled(False)

    # --- the clerk's decision ---------------------------------------------------------
    def record_final(self, final: str) -> None:
        if self.outcome is None or self.outcome.result is None or self.outcome.result.record_id is None:
            return
        session, record_id = self.context.session, self.outcome.result.record_id

        def work(_task: TaskHandle) -> str:
            session.record_final_decision(record_id, final)
            return final

        self.runner.submit("final", work, self._final_recorded,
                           lambda exc, details: self.errors.report(exc, details, action="final decision"))

    def _final_recorded(self, final: str) -> None:
        self.final_label.setText(f"Recorded: {FINAL_WORDS[final]} by {self.context.user.username} "
                                 f"at {time.strftime('%H:%M:%S')}.")

    # --- customers for completion -----------------------------------------------------
    def on_shown(self) -> None:
        self.refresh_customers()  # another desk may have registered someone meanwhile

    def refresh_customers(self) -> None:
        store = self.context.store
        self.runner.submit("verify.customers", lambda _task: store.list_customers(), self._customers_loaded,
                           lambda exc, details: self.errors.report(exc, details, action="list customers"))

    def _customers_loaded(self, customers) -> None:
        self.customer.set_customers(customers)
        self.customer_info.setText(self.customer.describe())
