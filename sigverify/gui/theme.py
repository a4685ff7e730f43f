"""Colours and the style sheet in one place; decisions always carry words and a symbol as well."""

from __future__ import annotations

# decision -> (text colour, band/background colour); contrast checked for normal text (WCAG AA)
DECISION_COLOURS: dict[str, tuple[str, str]] = {
    "match": ("#ffffff", "#2e7d32"),
    "refer": ("#1f1300", "#f9a825"),
    "no_match": ("#ffffff", "#c62828"),
}
DECISION_SYMBOLS = {"match": "✔", "refer": "?", "no_match": "✖"}

STYLE_SHEET = """
QWidget { font-size: 10pt; }
#navigation { background: #263238; color: #eceff1; border: none; font-size: 11pt; padding-top: 8px; outline: 0; }
#navigation::item { padding: 10px 14px; }
#navigation::item:selected { background: #37474f; color: #ffffff; border-left: 4px solid #64b5f6; }
#navigation::item:focus { outline: none; }
#pageTitle { font-size: 15pt; font-weight: 600; }
#pageSubtitle { color: #546e7a; }
#dropZone { border: 2px dashed #90a4ae; border-radius: 8px; background: #fafafa; }
#dropZone[dragging="true"] { border-color: #1565c0; background: #e3f2fd; }
#dropZone:focus { border-color: #1565c0; }
#dropHint { color: #455a64; font-size: 12pt; }
#decisionBanner { border-radius: 6px; padding: 8px 12px; font-size: 16pt; font-weight: 700; }
#sectionLabel { font-weight: 600; color: #37474f; }
#signatureCaption { color: #455a64; }
#fallbackNote { color: #8a5300; }
QPushButton { padding: 5px 12px; }
#primaryButton { font-weight: 600; color: #ffffff; background: #1565c0; border: 1px solid #0d47a1;
                 border-radius: 4px; padding: 5px 16px; }
#primaryButton:focus { border: 2px solid #ffb300; }
#primaryButton:disabled { background: #90a4ae; border-color: #78909c; }
"""
