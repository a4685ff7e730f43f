from __future__ import annotations

from .base import Page


class CustomersPage(Page):
    title = "Customers"
