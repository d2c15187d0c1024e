"""Spreadsheet safety for exported cells."""

from __future__ import annotations

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(value: str) -> str:
    """Neutralise a cell that a spreadsheet would run as a formula (CSV injection): prefix
    it with an apostrophe, which Excel and LibreOffice show as text."""
    if value and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value
