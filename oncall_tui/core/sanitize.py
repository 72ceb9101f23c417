"""Moved to :mod:`oncall_tui.text.sanitize` (this alias goes once every importer uses the new home)."""

import sys

from oncall_tui.text import sanitize as _moved

sys.modules[__name__] = _moved
