"""The tables of this package (the migration creates them)."""

from __future__ import annotations
