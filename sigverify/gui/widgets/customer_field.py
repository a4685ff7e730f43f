"""Customer ID entry with completion over the store's customers (by ID or name)."""

from __future__ import annotations

from PySide6.QtCore import QStringListModel, Qt, QTimer, Signal
from PySide6.QtWidgets import QCompleter, QLineEdit, QWidget

from ...core.customer_lookup import CustomerLookup, find_customer
from ...core.store import Customer

_SEPARATOR = " — "


class CustomerField(QLineEdit):
    chosen = Signal(str)  # a customer picked from the completion list

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("customerField")
        self.setPlaceholderText("Customer ID or name")
        self.setAccessibleName("Customer")
        self.setClearButtonEnabled(True)
        self.customers: dict[str, Customer] = {}
        self._model = QStringListModel(self)
        completer = QCompleter(self._model, self)
        completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        completer.setFilterMode(Qt.MatchFlag.MatchContains)  # a name typed mid-word still finds the ID
        completer.activated.connect(self._on_activated)
        self.setCompleter(completer)

    def set_customers(self, customers: list[Customer]) -> None:
        self.customers = {c.customer_id: c for c in customers}
        self._model.setStringList([f"{c.customer_id}{_SEPARATOR}{c.name}" if c.name else c.customer_id
                                   for c in customers])

    def show_all(self) -> None:
        """Open the list of every customer (a mouse-only way to choose one)."""
        self.setFocus()
        self.completer().setCompletionPrefix("")
        self.completer().complete()

    def customer_id(self) -> str:
        """What was typed or chosen, reduced to the ID part."""
        return self.text().split(_SEPARATOR, 1)[0].strip()

    def lookup(self) -> CustomerLookup:
        """The customer the typed ID, name or start of either stands for, or the ones it fits."""
        return find_customer(self.customers.values(), self.customer_id())

    def _on_activated(self, text: str) -> None:
        customer_id = text.split(_SEPARATOR, 1)[0].strip()
        # the completer writes the whole entry after this signal; trim it to the ID once it has
        QTimer.singleShot(0, lambda: self._finish_choice(customer_id))

    def _finish_choice(self, customer_id: str) -> None:
        self.setText(customer_id)
        self.chosen.emit(customer_id)

    def describe(self) -> str:
        if not self.customer_id():
            return ""
        lookup = self.lookup()
        customer = lookup.customer
        if customer is None:
            return f"fits {len(lookup.candidates)} customers: type more" if lookup.ambiguous else ""
        refs = f"{customer.reference_count} reference signature{'s' if customer.reference_count != 1 else ''}"
        return f"{customer.customer_id} · {customer.name or 'no name'} · {refs}"
