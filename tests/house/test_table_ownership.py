"""Each area owns its tables: no other area's SQL names them (issue 10).

Every SQL string in ``src/utilipay`` (and every ``.sql`` file) is scanned for the tables
it names; a table owned by another area than the string's is a violation. Another area's
data is read through the views its owner publishes (migration 0024, documented in the
owner's ``tables.py``), and written through the owner's functions or write views. The
import side of the rule (no area imports another's ``tables``) is import-linter's
``protected`` contracts in ``pyproject.toml``.
"""

from __future__ import annotations

import ast
import re
import tomllib
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Table, text
from sqlalchemy.ext.asyncio import AsyncEngine

import utilipay
from utilipay.migrations import schema

SOURCE = Path(utilipay.__file__).parent

# What is outside the rule, each with its reason. Tests and tools are not scanned.
NOT_SCANNED = {
    "migrations": "the schema of every area (DDL, the views each area publishes) and the "
    "function bodies earlier revisions wrote, kept as history (today's are the areas' "
    ".sql files, scanned)",
}
ALLOWED: dict[tuple[str, str], str] = {}

# A string is SQL when it has a keyword in capitals (prose has them in lower case) or
# starts as a statement does, in either case.
_SQL = re.compile(
    r"\b(SELECT|INSERT|UPDATE|DELETE|FROM|JOIN|WHERE|COPY|RETURNING)\b"
    r"|^\s*(?i:select|insert|update|delete|with|copy)\s"
)
_NOISE = re.compile(r"'(?:[^']|'')*'|--[^\n]*|(?<!:):[a-z_]\w*|\$\d+")
_NAME = r"[a-z_][a-z0-9_]*"
_AFTER_KEYWORD = re.compile(
    rf"\b(?:FROM|JOIN|INTO|UPDATE|TABLE|REFERENCES|COPY|USING)\s+(?:ONLY\s+|LATERAL\s+)?({_NAME})",
    re.IGNORECASE,
)
_FROM_LIST = re.compile(
    rf"\bFROM\s+({_NAME}(?:\s+(?:AS\s+)?{_NAME})?(?:\s*,\s*{_NAME}(?:\s+(?:AS\s+)?{_NAME})?)+)",
    re.IGNORECASE,
)
_QUALIFIER = re.compile(rf"(?<![\w.]){_NAME}(?=\.[a-z_*])")
_LEADING = re.compile(rf"^\s*({_NAME})\s+(?:(?:AS\s+)?{_NAME}\s+)?(?:WHERE|JOIN)\b", re.IGNORECASE)


def tables_named(sql: str) -> set[str]:
    """The relations a statement (or a fragment of one) names: after FROM, JOIN, INTO,
    UPDATE…, in a FROM list, as a qualifier (``payments.status``), or leading a fragment
    (``outbox_events WHERE …``). Literals, comments and parameters are not names."""
    clean = _NOISE.sub(" ", sql)
    found = {m.group(1) for m in _AFTER_KEYWORD.finditer(clean)}
    for listed in _FROM_LIST.finditer(clean):
        found |= {item.split()[0] for item in listed.group(1).split(",")}
    found |= set(_QUALIFIER.findall(clean))
    found |= {m.group(1) for m in _LEADING.finditer(clean)}
    return found


def owners() -> dict[str, str]:
    """Each table's area, from the tables modules that define it."""
    found = {}
    for module in schema.AREAS:
        area = module.__name__.split(".")[1]
        found.update({t.name: area for t in vars(module).values() if isinstance(t, Table)})
    return found


def _docstrings(tree: ast.AST) -> set[int]:
    bodies: list[ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef] = [
        n for n in ast.walk(tree) if isinstance(n, ast.Module | ast.ClassDef)
    ]
    bodies += [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]
    return {
        id(node.body[0].value)
        for node in bodies
        if node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }


def strings_of(source: str) -> Iterator[tuple[int, str]]:
    """Every string of a module but its docstrings, an f-string with its holes blank."""
    tree = ast.parse(source)
    skip = _docstrings(tree)
    inside_fstrings = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            parts = [v.value if isinstance(v, ast.Constant) else " " for v in node.values]
            inside_fstrings |= {id(v) for v in node.values}
            yield node.lineno, "".join(str(p) for p in parts)
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and id(node) not in skip | inside_fstrings
        ):
            yield node.lineno, node.value


def tables_in_module(source: str) -> Iterator[tuple[int, set[str]]]:
    """The tables a module names, by line: in its SQL strings, and as the name of a
    SQLAlchemy ``table("…")`` or ``Table("…")`` (an imported Table is import-linter's)."""
    for line, string in strings_of(source):
        if _SQL.search(string):
            yield line, tables_named(string)
    tree = ast.parse(source)
    constructors = {"table", "Table"} | {
        alias.asname
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("sqlalchemy")
        for alias in node.names
        if alias.name in {"table", "Table"} and alias.asname
    }
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and _callee(node) in constructors and node.args:
            first = node.args[0]
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                yield node.lineno, {first.value}


def _callee(call: ast.Call) -> str:
    if isinstance(call.func, ast.Name):
        return call.func.id
    return call.func.attr if isinstance(call.func, ast.Attribute) else ""


@dataclass(frozen=True, slots=True)
class Violation:
    where: str
    table: str
    owner: str


def violations() -> list[Violation]:
    owner_of = owners()
    found = []
    for path in sorted([*SOURCE.rglob("*.py"), *SOURCE.rglob("*.sql")]):
        relative = path.relative_to(SOURCE)
        area = relative.parts[0].removesuffix(".py")
        if area in NOT_SCANNED:
            continue
        source = path.read_text()
        named = tables_in_module(source) if path.suffix == ".py" else [(1, tables_named(source))]
        for line, tables in named:
            for table in sorted(tables):
                owner = owner_of.get(table, area)
                if owner != area and (relative.as_posix(), table) not in ALLOWED:
                    found.append(Violation(f"{relative}:{line}", table, owner))
    return found


def test_no_area_names_another_areas_tables() -> None:
    assert violations() == []


def test_every_tables_module_is_protected_for_its_area() -> None:
    """A new tables module gets its import-linter contract: only its area and migrations."""
    config = tomllib.loads((Path(__file__).parents[2] / "pyproject.toml").read_text())
    protected: dict[str, list[str]] = {}
    for contract in config["tool"]["importlinter"]["contracts"]:
        if contract["type"] == "protected":
            protected |= {m: contract["allowed_importers"] for m in contract["protected_modules"]}
    expected = {  # migrations' own table: the one importer named once
        m.__name__: list(dict.fromkeys([m.__name__.rsplit(".", 1)[0], "utilipay.migrations"]))
        for m in schema.AREAS
    }
    assert protected == expected


def test_every_allowance_is_still_needed() -> None:
    """An allowance whose SQL is gone (moved to the owner) goes too."""
    owner_of = owners()
    for (module, table), reason in ALLOWED.items():
        named = tables_in_module((SOURCE / module).read_text())
        assert any(table in tables for _, tables in named), reason
        assert owner_of[table] != module.split("/")[0]


def test_the_scanner_finds_tables_wherever_sql_names_them() -> None:
    assert tables_named("SELECT a FROM payments p JOIN bills b ON b.x = p.x") == {
        "payments",
        "bills",
        "b",
        "p",
    }
    assert tables_named("INSERT INTO outbox_events (biller_id) SELECT 1") == {"outbox_events"}
    assert tables_named("UPDATE debits SET x = 1") == {"debits"}
    assert tables_named("DELETE FROM meters WHERE true") == {"meters"}
    assert tables_named("SELECT 1 FROM prepaid_accounts pa, bounds") >= {
        "prepaid_accounts",
        "bounds",
    }
    assert tables_named("SELECT billers.code") == {"billers"}
    assert tables_named("outbox_events WHERE dispatched_at IS NULL") == {"outbox_events"}
    assert tables_named("COPY payments FROM STDIN") >= {"payments"}


def test_the_scanner_ignores_what_only_looks_like_a_table() -> None:
    sql = "SELECT s.refunds, sum(refunds) FROM x WHERE purpose = 'bills' AND id = ANY(:bills)"
    sql += " -- bills"
    assert tables_named(sql) == {"x", "s"}
    assert tables_named("SELECT extract(epoch FROM :now - min(created_at))") == set()


def test_a_string_of_another_areas_table_is_reported() -> None:
    """The scan reads strings and f-strings, and skips docstrings."""
    module = '"""SELECT * FROM bills (prose)."""\nQ = f"SELECT * FROM payments WHERE {x}"\n'
    assert [tables for _, tables in tables_in_module(module)] == [{"payments"}]


def test_lower_case_sql_and_core_tables_are_reported() -> None:
    module = (
        'A = text("select due_date from bills where bill_no = :n")\n'
        'B = table("mandates", column("id"))\n'
        'C = sa.Table("debits", metadata)\n'
        "from sqlalchemy import table as t\n"
        'E = t("payments")\n'
        'D = "Paid from bills where the biller holds them"\n'
    )
    found = sorted(tables_in_module(module))
    assert found == [(1, {"bills"}), (2, {"mandates"}), (3, {"debits"}), (5, {"payments"})]


async def test_every_view_is_published_by_its_owner(engine: AsyncEngine) -> None:
    """A view is named with its owner's prefix and documented in the owner's tables module."""
    async with engine.connect() as conn:
        views = (
            await conn.execute(
                text("SELECT viewname FROM pg_views WHERE schemaname = current_schema()")
            )
        ).scalars()
        docs: dict[str, str] = defaultdict(str)
        for module in schema.AREAS:
            docs[module.__name__.split(".")[1]] += module.__doc__ or ""
        undocumented = []
        for view in sorted(views):
            area = max((a for a in docs if view.startswith(f"{a}_")), key=len, default="")
            if f"``{view}``" not in docs.get(area, ""):
                undocumented.append(view)
    assert undocumented == []
