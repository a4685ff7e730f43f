"""Dialogs: login / first administrator, reference confirmation, errors."""
