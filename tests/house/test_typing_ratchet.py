"""The hub's ``Any`` annotations may only become fewer (issue 10: types instead of strings).

Counted from the source's syntax tree: each annotation of a parameter, a return or a
variable that mentions ``Any`` counts once. New code is typed (a dataclass, a TypedDict,
an enum) instead; when a change removes some, lower ``ALLOWED`` to the new count.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

SOURCE = Path(__file__).resolve().parents[2] / "src" / "utilipay"
ALLOWED = 211


def _annotations(tree: ast.AST) -> Iterator[ast.expr]:
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            arguments = node.args
            every = [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs]
            every += [a for a in (arguments.vararg, arguments.kwarg) if a is not None]
            yield from (a.annotation for a in every if a.annotation is not None)
            if node.returns is not None:
                yield node.returns
        elif isinstance(node, ast.AnnAssign):
            yield node.annotation


def _mentions_any(annotation: ast.expr) -> bool:
    if isinstance(annotation, ast.Constant) and isinstance(annotation.value, str):
        annotation = ast.parse(annotation.value, mode="eval").body  # a quoted annotation
    return any(
        (isinstance(node, ast.Name) and node.id == "Any")
        or (isinstance(node, ast.Attribute) and node.attr == "Any")
        for node in ast.walk(annotation)
    )


def any_annotations(source: str) -> int:
    return sum(_mentions_any(a) for a in _annotations(ast.parse(source)))


def test_counts_annotations_not_other_mentions() -> None:
    source = (
        "from typing import Any\n"
        "import typing\n"
        "def f(a: Any, *rest: int, **kw: dict[str, Any]) -> typing.Any: ...\n"
        "async def g(b: 'list[Any]') -> None:\n"
        "    c: Any = 1\n"
        "    d = cast(Any, c)\n"
        "x: int = 0\n"
        "y: Literal['Any thing', 'x-y'] = 'x-y'\n"
    )
    assert any_annotations(source) == 5


def test_no_new_any_annotations() -> None:
    found = {
        str(path.relative_to(SOURCE)): any_annotations(path.read_text(encoding="utf-8"))
        for path in sorted(SOURCE.rglob("*.py"))
    }
    total = sum(found.values())
    most = sorted(found.items(), key=lambda item: -item[1])[:5]
    assert total <= ALLOWED, (
        f"{total} annotations in src/utilipay mention Any, more than the {ALLOWED} allowed: "
        f"type the new code instead (a dataclass or NamedTuple for a row, a TypedDict for a "
        f"payload, a StrEnum or Literal for an outcome). Most: {most}"
    )
    assert total >= ALLOWED - 20, (
        f"only {total} annotations mention Any now: lower ALLOWED in {Path(__file__).name} "
        f"to {total} so they stay gone"
    )
