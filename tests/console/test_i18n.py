"""Every word the console shows has its zh-CN translation (the default language)."""

from __future__ import annotations

import ast
import re
import tomllib
from datetime import date
from pathlib import Path

from utilipay import collection
from utilipay.collection import activity, analysis, collected, phrases, service
from utilipay.collection.charts import UNIT_TITLE
from utilipay.collection.schemas import Scope
from utilipay.console import i18n
from utilipay.console.templating import NAV
from utilipay.staff.roles import Role

CONSOLE = Path(i18n.__file__).parent
_IN_TEMPLATE = re.compile(r"""_\(\s*(?:"((?:[^"\\]|\\.)*)"|'((?:[^'\\]|\\.)*)')""")


def shown_in_templates(package: Path = CONSOLE) -> set[str]:
    found = set()
    for template in (package / "templates").rglob("*.html"):
        for double, single in _IN_TEMPLATE.findall(template.read_text(encoding="utf-8")):
            found.add(double or single)
    return found


def marked_in_python(package: Path = CONSOLE) -> set[str]:
    """The arguments of ``words(…)`` in the console's modules (implicit concatenation
    folded, as Python folds it)."""
    found = set()
    for module in package.rglob("*.py"):
        for node in ast.walk(ast.parse(module.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id == "words"
                and node.args
                and isinstance(node.args[0], ast.Constant)
                and isinstance(node.args[0].value, str)
            ):
                found.add(node.args[0].value)
    return found


def test_every_shown_word_has_a_translation() -> None:
    shown = shown_in_templates() | marked_in_python() | {n.label for n in NAV} | set(Role)
    catalog = i18n.catalog(i18n.Locale.ZH_CN)
    missing = sorted(shown - catalog.keys())
    assert not missing, f"no zh-CN for: {missing}"


def test_the_extraction_finds_what_it_should() -> None:
    # a guard against an extractor that finds nothing and so misses nothing
    assert "Sign in" in shown_in_templates()
    assert "You may not open this page or do this." in marked_in_python()


def not_packaged(pages: Path) -> list[str]:
    """The files of ``pages`` (a package of pages) no package-data pattern names."""
    package = pages.parent
    patterns = tomllib.loads((package.parents[1] / "pyproject.toml").read_text())["tool"][
        "setuptools"
    ]["package-data"]["utilipay"]
    packaged = {path for pattern in patterns for path in package.glob(pattern)}
    data = {p for p in pages.rglob("*") if p.is_file() and p.suffix not in {".py", ".pyc"}}
    return sorted(str(p.relative_to(package)) for p in data - packaged)


def test_every_file_the_console_reads_is_in_the_package_data() -> None:
    """A template, stylesheet, script or catalog that no package-data pattern names works
    in a checkout and is missing from the installed wheel."""
    assert not_packaged(CONSOLE) == []


def _titles_in_collection() -> set[str]:
    """Chart titles and series labels written as constants in the collection modules."""
    found = set()
    for module in Path(collection.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(module.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                at = {"Chart": 1, "Series": 0}.get(node.func.id)
                if at is not None and len(node.args) > at:
                    given = node.args[at]
                    if isinstance(given, ast.Constant) and isinstance(given.value, str):
                        found.add(given.value)
    return found


def report_words() -> set[str]:
    """The English of the collection reports and the monthly analysis: report, table,
    column, chart and series titles (every breakdown's), the rows' labels, the templates of
    notes and dated titles (``collection.phrases``)."""
    found = {
        *service.TITLES.values(), analysis.TITLE, *phrases.TEMPLATES, *UNIT_TITLE.values(),
        *activity.MIX_TITLES.values(), *activity.PREPAID_ACTIVITY.values(),
        *activity.MANDATES.values(), *activity.DEBIT_OUTCOMES.values(),
        *activity.PREPAID_STATES, *collected.PROGRESS_SERIES, "all",
    }  # fmt: skip
    month = analysis.month_period(date(2026, 11, 1))
    scope = Scope(None, None)
    made = [
        analysis.warnings_report([], scope, month),
        analysis.arrears_report([], {}, scope, month),
    ]
    tables = [t for r in made for t in r.tables]
    for name, builder in service.BUILDERS.items():
        for by in (None, *service.BY_SUPPORTED[name]):
            tables += builder.empty(by)
    found |= {r.title for r in made} | {n for r in made for n in r.notes}
    found |= {t.title for t in tables} | {c.title for t in tables for c in t.columns}
    return found | _titles_in_collection()


def test_every_word_of_a_report_has_a_translation() -> None:
    words = report_words()
    assert {"Collection rate (amount)", "Amount by channel", "This month"} <= words
    missing = sorted(words - i18n.catalog(i18n.Locale.ZH_CN).keys())
    assert not missing, f"no zh-CN for: {missing}"
