"""The package version (one place; hatch reads it for the wheel)."""

__version__ = "0.1.0"
