"""Show what will be registered — each image with its signature box and the crop the model gets —
and let the administrator correct a box before confirming. Re-extraction with a corrected box
is the core's ``prepare(box=...)``, run on the task runner.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QGridLayout,
    QLabel,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from ...core.pipeline import PreparedSignature
from ...core.reference_check import CheckedReferences, RefusedImage, check_reference_images
from ..widgets.cheque_view import ChequeView
from ..widgets.images import ink_on_paper, pixmap_from_array
from ..workers import TaskHandle, TaskRunner


class ConfirmReferencesDialog(QDialog):
    confirmed = Signal(list)  # list[PreparedSignature], possibly with corrected boxes
    failed = Signal(object, str)  # a re-extraction failed: (exception, details)

    def __init__(self, title: str, prepared: list[PreparedSignature], prepare, runner: TaskRunner,
                 parent: QWidget | None = None, refused: list[RefusedImage] | None = None):
        super().__init__(parent)
        self.setObjectName("confirmReferences")
        self.setWindowTitle(title)
        self.prepared = list(prepared)
        self._prepare, self._runner = prepare, runner
        self.resize(900, 520)
        layout = QVBoxLayout(self)
        intro = QLabel("Check each signature below. If the blue box misses part of the signature, drag it "
                       "(or select the image and use the arrow keys; Shift+arrows resize).")
        intro.setWordWrap(True)
        layout.addWidget(intro)
        self.refused = list(refused or [])
        self.refused_label = QLabel(self._refused_text())
        self.refused_label.setObjectName("refusedImages")
        self.refused_label.setWordWrap(True)
        self.refused_label.setStyleSheet("color: #b71c1c;")
        self.refused_label.setVisible(bool(self.refused))
        layout.addWidget(self.refused_label)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        inner = QWidget()
        grid = QGridLayout(inner)
        grid.setColumnStretch(0, 3)
        grid.setColumnStretch(1, 2)
        self.views: list[ChequeView] = []
        self.crops: list[QLabel] = []
        for row, item in enumerate(self.prepared):
            view = ChequeView()
            view.setMinimumHeight(180)
            view.set_image(pixmap_from_array(item.image.rgb), item.extraction.box)
            view.box_edited.connect(lambda box, r=row: self._reprepare(r, box))
            crop = QLabel()
            crop.setAlignment(Qt.AlignmentFlag.AlignCenter)
            crop.setStyleSheet("background: white; border: 1px solid #cfd8dc;")
            crop.setAccessibleName(f"Signature {row + 1} as the model sees it")
            name = QLabel(item.file_name.rsplit("/", 1)[-1])
            name.setObjectName("sectionLabel")
            grid.addWidget(name, 2 * row, 0, 1, 2)
            grid.addWidget(view, 2 * row + 1, 0)
            grid.addWidget(crop, 2 * row + 1, 1)
            self.views.append(view)
            self.crops.append(crop)
            self._show_crop(row)
        scroll.setWidget(inner)
        layout.addWidget(scroll, 1)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        usable = "usable " if self.refused else ""
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText(
            f"&Register the {len(self.prepared)} {usable}signature{'s' if len(self.prepared) != 1 else ''}")
        self.buttons.accepted.connect(self._confirm)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)

    def _refused_text(self) -> str:
        if not self.refused:
            return ""
        lines = "\n".join(f"  • {r.name.rsplit('/', 1)[-1]}: {r.reason}" for r in self.refused)
        return (f"{len(self.refused)} image{'s' if len(self.refused) != 1 else ''} cannot be used and will not be "
                f"registered:\n{lines}")

    def _show_crop(self, row: int) -> None:
        pixmap = ink_on_paper(self.prepared[row].normalized)
        self.crops[row].setPixmap(pixmap.scaledToWidth(300, Qt.TransformationMode.SmoothTransformation))

    def _reprepare(self, row: int, box: tuple[int, int, int, int]) -> None:
        item, prepare = self.prepared[row], self._prepare
        self.buttons.setEnabled(False)

        def done(new: PreparedSignature) -> None:
            self.prepared[row] = new
            self._show_crop(row)
            self.buttons.setEnabled(True)

        def failed(exc: BaseException, details: str) -> None:
            self.buttons.setEnabled(True)
            self.failed.emit(exc, details)

        self._runner.submit(f"confirm.{row}", lambda _t: prepare(item.file_bytes, item.file_name, box), done,
                            failed)

    def _confirm(self) -> None:
        self.confirmed.emit(self.prepared)
        self.accept()


def prepare_all(prepare, sources: list[tuple[str | bytes, str]]):
    """A task function: check every (source, name); every refusal is kept with its reason."""

    def work(task: TaskHandle) -> CheckedReferences:
        return check_reference_images(prepare, sources, task.check)

    return work
