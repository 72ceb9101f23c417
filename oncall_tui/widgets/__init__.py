"""Reusable Textual widgets. No I/O: they never import clients."""
