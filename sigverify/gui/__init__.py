"""PySide6 desktop face of sigverify: pages and widgets over the Qt-free core services."""
