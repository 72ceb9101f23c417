"""oncall-tui: the 3am terminal for model-serving incidents."""

__version__ = "0.1.0"
