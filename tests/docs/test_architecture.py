"""docs/architecture.md says what the code is: its layers are the import contract's, its
package table names every package once, and the tables it gives each package are exactly
the ones that package's tables modules define, each marked with its placement."""

from __future__ import annotations

import re
import tomllib
from collections import defaultdict
from pathlib import Path

import sqlalchemy as sa

from utilipay.db.distribution import PLACEMENT
from utilipay.migrations import schema

ROOT = Path(__file__).resolve().parents[2]
DOC = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
SOURCE = ROOT / "src" / "utilipay"


def documented_layers() -> list[str]:
    block = DOC.split("<!-- layers:", 1)[1].split("```", 2)[1]
    return [line.strip() for line in block.strip().splitlines()]


def documented_packages() -> dict[str, dict[str, str]]:
    """Package → {table: placement letter}."""
    after = DOC.split("<!-- packages:", 1)[1].split("-->", 1)[1].strip().splitlines()
    rows = [line for line in after[: after.index("")] if line.startswith("|")]
    packages: dict[str, dict[str, str]] = {}
    for row in rows[2:]:  # after the header and its rule
        name, _what, tables = (cell.strip() for cell in row.strip("|").split("|"))
        assert name.strip("`") not in packages, f"{name} is listed twice"
        packages[name.strip("`")] = dict(re.findall(r"`([a-z_]+)` ([DRL])\b", tables))
    return packages


def test_the_layers_are_the_import_contracts() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    contracts = config["tool"]["importlinter"]["contracts"]
    (layers,) = [c["layers"] for c in contracts if c["type"] == "layers"]
    assert documented_layers() == layers


def test_every_package_and_top_level_module_is_listed_once() -> None:
    in_code = {p.parent.name for p in SOURCE.glob("*/__init__.py")}
    in_code |= {p.stem for p in SOURCE.glob("*.py") if not p.stem.startswith("_")}
    assert set(documented_packages()) == in_code


def test_each_package_owns_the_tables_listed_for_it() -> None:
    owned: dict[str, set[str]] = defaultdict(set)
    for module in schema.AREAS:
        area = module.__name__.split(".")[1]
        owned[area] |= {t.name for t in vars(module).values() if isinstance(t, sa.Table)}
    listed = {name: set(tables) for name, tables in documented_packages().items() if tables}
    assert listed == dict(owned)
    assert {t for ts in owned.values() for t in ts} == set(schema.metadata.tables)


def test_each_table_is_marked_with_its_placement() -> None:
    marked = {t: p for tables in documented_packages().values() for t, p in tables.items()}
    assert marked == {t: PLACEMENT[t].value[0].upper() for t in schema.metadata.tables}
