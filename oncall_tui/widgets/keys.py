"""Binding blocks more than one screen shares (one definition, one set of ids to remap)."""

from __future__ import annotations

from textual.binding import Binding

#: Time range: pan earlier/later, zoom in/out, back to live (the app's actions).
TIME_RANGE_BINDINGS = [
    Binding("[", "app.pan(-1)", "Earlier", show=False, id="pan-back"),
    Binding("]", "app.pan(1)", "Later", show=False, id="pan-forward"),
    Binding("+", "app.zoom(1)", "Zoom in", show=False, id="zoom-in"),
    Binding("-", "app.zoom(-1)", "Zoom out", show=False, id="zoom-out"),
    Binding("0", "app.live", "Live", show=False, id="live"),
]
