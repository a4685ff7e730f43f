"""Reusable widgets: they show data and emit signals; none of them calls the core."""
