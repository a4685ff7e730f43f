"""Customers page (administrators): find customers, add them, manage their reference signatures.

Registering always goes: files -> the core prepares each (refusing blank, tiny or non-signature
images with its reason) -> the administrator confirms the crops -> the session registers.
Removal is the core's soft delete, so the history keeps every reference.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ...core.reference_check import CheckedReferences
from ...core.store import Customer, Reference
from ..context import AppContext
from ..dialogs.confirm_references import ConfirmReferencesDialog, prepare_all
from ..dialogs.customer_dialog import CustomerDialog, choose_images
from ..errors import ErrorReporter, Explanation
from ..widgets.images import ink_on_paper_png
from ..workers import TaskHandle
from .base import Page

THUMB_WIDTH = 220


class CustomersPage(Page):
    title = "Customers and reference signatures"
    subtitle = "Find a customer, add reference signatures, replace or remove them (removed ones stay in the history)."

    def __init__(self, context: AppContext, errors: ErrorReporter, parent: QWidget | None = None):
        super().__init__(context, errors, parent)
        self.customers: list[Customer] = []
        self.references: list[tuple[Reference, bytes]] = []
        self.dialog: CustomerDialog | ConfirmReferencesDialog | None = None
        self._pending_select: str | None = None  # select this customer once the list is back
        self._build()
        context.customers_changed.connect(self.refresh)

    def _build(self) -> None:
        top = QHBoxLayout()
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search by customer ID or name")
        self.search.setClearButtonEnabled(True)
        self.search.setAccessibleName("Search customers")
        self.search.textChanged.connect(self.refresh)
        self.add_customer_button = QPushButton("&Add customer…")
        self.add_customer_button.clicked.connect(self.add_customer)
        top.addWidget(self.search, 1)
        top.addWidget(self.add_customer_button)
        self.page_layout.addLayout(top)

        splitter = QSplitter(Qt.Orientation.Horizontal)
        self.table = QTableWidget(0, 4)
        self.table.setHorizontalHeaderLabels(["Customer ID", "Name", "Account", "References"])
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().setVisible(False)
        header = self.table.horizontalHeader()
        for column in (0, 2, 3):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(0, Qt.SortOrder.AscendingOrder)
        self.table.itemSelectionChanged.connect(self._selection_changed)
        splitter.addWidget(self.table)

        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(8, 0, 0, 0)
        self.customer_title = QLabel("Choose a customer on the left")
        self.customer_title.setObjectName("sectionLabel")
        self.show_removed = QCheckBox("Show &removed references (history)")
        self.show_removed.toggled.connect(self._load_references)
        self.reference_list = QListWidget()
        self.reference_list.setViewMode(QListWidget.ViewMode.IconMode)
        self.reference_list.setIconSize(self._icon_size())
        self.reference_list.setResizeMode(QListWidget.ResizeMode.Adjust)
        self.reference_list.setMovement(QListWidget.Movement.Static)
        self.reference_list.setSpacing(8)
        self.reference_list.setWordWrap(True)
        self.reference_list.setAccessibleName("Reference signatures")
        self.reference_list.itemSelectionChanged.connect(self._update_buttons)
        buttons = QHBoxLayout()
        self.add_reference_button = QPushButton("Add &reference…")
        self.replace_button = QPushButton("Re&place…")
        self.remove_button = QPushButton("Re&move…")
        self.add_reference_button.clicked.connect(self.add_reference)
        self.replace_button.clicked.connect(self.replace_reference)
        self.remove_button.clicked.connect(self.remove_reference)
        for button in (self.add_reference_button, self.replace_button, self.remove_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        right_layout.addWidget(self.customer_title)
        right_layout.addWidget(self.show_removed)
        right_layout.addWidget(self.reference_list, 1)
        right_layout.addLayout(buttons)
        splitter.addWidget(right)
        splitter.setStretchFactor(0, 1)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([520, 560])
        self.page_layout.addWidget(splitter, 1)
        self._update_buttons()

    @staticmethod
    def _icon_size() -> QSize:
        return QSize(THUMB_WIDTH, THUMB_WIDTH // 2)

    def on_shown(self) -> None:
        self.refresh()

    # --- customers --------------------------------------------------------------------
    def selected_customer(self) -> str | None:
        rows = self.table.selectionModel().selectedRows()
        return self.table.item(rows[0].row(), 0).text() if rows else None

    def refresh(self) -> None:
        store, search = self.context.store, self.search.text().strip() or None
        self.runner.submit("customers.list", lambda _t: store.list_customers(search), self._show_customers,
                           lambda exc, details: self.errors.report(exc, details, action="list customers"))

    def _show_customers(self, customers: list[Customer]) -> None:
        selected = self._pending_select or self.selected_customer()
        self._pending_select = None
        self.customers = customers
        self.table.setSortingEnabled(False)
        self.table.setRowCount(len(customers))
        for row, c in enumerate(customers):
            count = QTableWidgetItem()
            count.setData(Qt.ItemDataRole.DisplayRole, c.reference_count)  # numeric sort
            for column, item in enumerate((QTableWidgetItem(c.customer_id), QTableWidgetItem(c.name or ""),
                                           QTableWidgetItem(c.account or ""), count)):
                self.table.setItem(row, column, item)
        self.table.setSortingEnabled(True)
        if selected:
            self.select_customer(selected)
        self._selection_changed()  # the selected customer's references may have changed too

    def select_customer(self, customer_id: str) -> None:
        for row in range(self.table.rowCount()):
            if self.table.item(row, 0).text() == customer_id:
                self.table.selectRow(row)
                return

    def _selection_changed(self) -> None:
        customer_id = self.selected_customer()
        customer = next((c for c in self.customers if c.customer_id == customer_id), None)
        if customer is None:
            self.customer_title.setText("Choose a customer on the left")
        else:
            account = f" · account {customer.account}" if customer.account else ""
            self.customer_title.setText(f"{customer.customer_id} — {customer.name or 'no name'}{account}")
        self._load_references()

    def _load_references(self) -> None:
        customer_id, store, history = self.selected_customer(), self.context.store, self.show_removed.isChecked()
        if customer_id is None:
            self._show_references([])
            return

        def work(_task: TaskHandle) -> list[tuple[Reference, bytes]]:
            refs = store.references_for(customer_id, include_removed=history)
            return [(ref, store.reference_images(ref.id)[1]) for ref in refs]

        self.runner.submit("customers.references", work, self._show_references,
                           lambda exc, details: self.errors.report(exc, details, action="load references"))

    def _show_references(self, references: list[tuple[Reference, bytes]]) -> None:
        self.references = references
        self.reference_list.clear()
        for number, (ref, png) in enumerate(references, start=1):
            name = Path(ref.file_name or "").name or "image"
            when = ref.created_at[:10]
            text = f"#{number} {name}\nadded {when} by {ref.created_by or '?'}"
            if ref.removed_at:
                text += f"\nREMOVED {ref.removed_at[:10]}"
            item = QListWidgetItem(text)
            pixmap = ink_on_paper_png(png).scaledToWidth(THUMB_WIDTH, Qt.TransformationMode.SmoothTransformation)
            item.setIcon(QIcon(pixmap))
            item.setData(Qt.ItemDataRole.UserRole, ref.id)
            if ref.removed_at:
                item.setForeground(Qt.GlobalColor.gray)
                item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsSelectable)
            self.reference_list.addItem(item)
        self._update_buttons()

    def selected_reference(self) -> int | None:
        items = self.reference_list.selectedItems()
        return int(items[0].data(Qt.ItemDataRole.UserRole)) if items else None

    def _update_buttons(self) -> None:
        has_customer = self.selected_customer() is not None
        has_reference = self.selected_reference() is not None
        self.add_reference_button.setEnabled(has_customer)
        self.replace_button.setEnabled(has_reference)
        self.remove_button.setEnabled(has_reference)

    # --- registering ------------------------------------------------------------------
    def add_customer(self) -> None:
        dialog = CustomerDialog({c.customer_id for c in self.customers}, self)
        dialog.submitted.connect(lambda cid, name, account, paths: self.start_registration(cid, paths, name, account))
        self.dialog = dialog
        dialog.open()

    def add_reference(self) -> None:
        customer_id = self.selected_customer()
        if customer_id:
            paths = choose_images(self, f"Reference signatures for {customer_id}")
            if paths:
                self.start_registration(customer_id, paths)

    def replace_reference(self) -> None:
        customer_id, old = self.selected_customer(), self.selected_reference()
        if customer_id and old is not None:
            paths = choose_images(self, "The new reference signature")
            if paths:
                self.start_registration(customer_id, paths[:1], replaces=old)

    def start_registration(self, customer_id: str, paths: list[str], name: str = "", account: str = "",
                           replaces: int | None = None) -> None:
        """Prepare the images in the background, then ask for confirmation of the crops."""
        session = self._session()
        if session is None:
            return
        sources = [(path, Path(path).name) for path in paths]
        self.runner.submit("customers.prepare", prepare_all(session.prepare, sources),
                           lambda checked: self._confirm(customer_id, checked, name, account, replaces),
                           lambda exc, details: self.errors.report(exc, details, action="prepare reference"))

    def _confirm(self, customer_id, checked: CheckedReferences, name, account, replaces) -> None:
        if not checked.prepared:
            count = len(checked.refused)
            self.errors.show(Explanation(
                "No usable signature", f"{'None of the images' if count > 1 else 'The image'} can be used: "
                f"{checked.describe_refused()}.", "Choose clearer scans of the signature; nothing was registered."))
            return
        verb = "Replace a reference of" if replaces is not None else "Register references for"
        dialog = ConfirmReferencesDialog(f"{verb} {customer_id}", checked.prepared, self._session().prepare,
                                         self.runner, self, refused=checked.refused)
        dialog.confirmed.connect(lambda items: self._register(customer_id, items, name, account, replaces))
        dialog.failed.connect(lambda exc, details: self.errors.report(exc, details, action="prepare reference"))
        self.dialog = dialog
        dialog.open()

    def _register(self, customer_id, prepared, name, account, replaces) -> None:
        session = self._session()

        def work(_task: TaskHandle) -> str:
            result = session.register(customer_id, prepared, name=name or None)
            if account:
                session.update_customer(customer_id, account=account)
            if replaces is not None:
                session.remove_reference(customer_id, replaces,
                                          reason=f"replaced by reference {result.reference_ids[0]}")
            return customer_id

        self.runner.submit("customers.register", work, self._registered,
                           lambda exc, details: self.errors.report(exc, details, action="register"))

    def _registered(self, customer_id: str) -> None:
        self._pending_select = customer_id
        self.context.customers_changed.emit()  # refreshes this table and the Verify completion

    def remove_reference(self) -> None:
        customer_id, ref_id = self.selected_customer(), self.selected_reference()
        if customer_id is None or ref_id is None:
            return
        reason, ok = QInputDialog.getText(self, "Remove a reference signature",
                                          "Why is this reference removed? (kept in the history)")
        if not ok:
            return
        session = self._session()

        def work(_task: TaskHandle) -> str:
            session.remove_reference(customer_id, ref_id, reason=reason.strip())
            return customer_id

        self.runner.submit("customers.remove", work, self._registered,
                           lambda exc, details: self.errors.report(exc, details, action="remove reference"))

    def _session(self):
        session = self.context.session
        if session is None:
            if self.context.engine_error is not None:
                self.errors.report(self.context.engine_error, action="customers")
            else:
                self.errors.show(Explanation("Please wait", "The signature model is still loading."))
        return session
