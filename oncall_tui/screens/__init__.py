"""Textual screens: compose widgets, start workers, route messages."""
