from __future__ import annotations

from .base import Page


class BatchPage(Page):
    title = "Batch"
