from __future__ import annotations

from .base import Page


class SettingsPage(Page):
    title = "Settings"
