"""Where utilipay opens transactions, read from its source: the table of docs/transactions.md
and the policy's checks (``tests/house/test_transactions.py``).

``python -m tests.transaction_sites`` rewrites the table in docs/transactions.md.

Every ``with``/``async with x.begin() | x.connect() | x.transaction() | x.begin_nested()``
is a site; the function around it is classified by the conventions the policy names:

- an *entry point* is a route (``<area>/api.py``, ``admin_api.py``, and the HTTP edge's
  dependencies in ``channels.requests`` and ``access.auth``), a CLI command
  (``utilipay.cli``), a console page (``utilipay.console``), a payer page
  (``utilipay.h5``), a worker job (``utilipay.worker``), the hub process itself
  (``utilipay.web``) or Alembic's environment (``utilipay.migrations``);
- a *workflow* takes an ``AsyncEngine`` (a parameter, or ``self._engine``) and opens its
  own transactions;
- a *unit* takes an ``AsyncConnection``: it never begins, commits or rolls back (a
  savepoint, ``begin_nested``, is its own business: it ends inside the caller's transaction).

A network call: a function that awaits ``common.outgoing.exchange`` or
``common.outgoing_aiohttp.PooledClient.exchange`` (every HTTP call the hub makes) or
``aiosmtplib.send`` makes one, and so does every function that awaits such
a function, to a fixed point. A call is followed through the module's imports, ``self``
and the module's own functions; a method called on anything else (``provider.send``,
``path.pay``) stands for every method of that name, which errs on the careful side.
"""

from __future__ import annotations

import ast
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "utilipay"
DOC = ROOT / "docs" / "transactions.md"
OPENERS = {"begin": "begin", "connect": "connect", "transaction": "begin",
           "begin_nested": "savepoint"}  # fmt: skip
NETWORK_PRIMITIVES = {"common.outgoing:exchange", "common.outgoing_aiohttp:PooledClient.exchange",
                      "aiosmtplib.send"}  # fmt: skip
ENTRY_PACKAGES = {"cli", "web", "worker", "migrations", "console", "h5"}
ENTRY_MODULES = {"api", "admin_api"}
# the HTTP edge's dependencies: the signed request's transaction, the admin token's check
EDGE_MODULES = {"channels.requests", "access.auth"}
ENGINE_NAMES = {"engine", "_engine"}
ENDINGS = {"commit", "rollback"}
TABLE_START = "<!-- transaction-sites:start -->"
TABLE_END = "<!-- transaction-sites:end -->"

Function = ast.FunctionDef | ast.AsyncFunctionDef
Block = ast.With | ast.AsyncWith


@dataclass
class Module:
    name: str  # relative to utilipay: "payments.resolution"
    tree: ast.Module
    imports: dict[str, str] = field(default_factory=dict)  # alias -> "mod" or "mod:func"
    functions: dict[str, Function] = field(default_factory=dict)  # "Class.method" -> node


@dataclass(frozen=True, slots=True)
class Site:
    module: str
    function: str  # "Class.method", "function", or "(module)"
    kind: str
    opens: tuple[str, ...]  # what it opens, in order: begin, connect, savepoint


def modules() -> dict[str, Module]:
    """utilipay's modules, by name (Alembic's revisions left out: they run inside
    Alembic's own transaction)."""
    sources = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE).with_suffix("")
        if relative.parts[:2] != ("migrations", "versions"):
            parts = relative.parts[:-1] if relative.name == "__init__" else relative.parts
            sources[".".join(parts)] = path.read_text()
    return parse(sources)


def parse(sources: dict[str, str]) -> dict[str, Module]:
    """Modules from their source, by name relative to utilipay ("payments.resolution")."""
    found = {name: Module(name, ast.parse(source, name)) for name, source in sources.items()}
    for module in found.values():
        module.functions = dict(_functions(module.tree, ""))
        module.imports = _imports(module.tree, found)
    return found


def _functions(node: ast.AST, prefix: str) -> Iterator[tuple[str, Function]]:
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.ClassDef):
            yield from _functions(child, f"{prefix}{child.name}.")
        elif isinstance(child, Function):
            yield f"{prefix}{child.name}", child
            yield from _functions(child, f"{prefix}{child.name}.")


def _imports(tree: ast.Module, known: dict[str, Module]) -> dict[str, str]:
    """What each imported name stands for: a module of ours, or a function of one."""
    names: dict[str, str] = {}
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("utilipay."):
            base = node.module.removeprefix("utilipay.") if node.module else ""
            for alias in node.names:
                inner = f"{base}.{alias.name}"  # a module, or a name in one
                names[alias.asname or alias.name] = (
                    inner if inner in known else f"{base}:{alias.name}"
                )
        elif isinstance(node, ast.Import):
            for alias in node.names:
                names[alias.asname or alias.name] = alias.name.removeprefix("utilipay.")
    return names


def dotted(node: ast.expr) -> str:
    """``self._engine.begin`` for an attribute chain (calls on the way skipped)."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        inner = dotted(node.value)
        return f"{inner}.{node.attr}" if inner else ""
    if isinstance(node, ast.Call):
        return dotted(node.func)
    return ""


def own_nodes(body: list[ast.stmt]) -> Iterator[ast.AST]:
    """The nodes of ``body``, not those of the functions and classes defined in it."""
    nested = Function | ast.Lambda | ast.ClassDef
    stack: list[ast.AST] = [n for n in body if not isinstance(n, nested)]
    while stack:
        node = stack.pop()
        yield node
        stack.extend(c for c in ast.iter_child_nodes(node) if not isinstance(c, nested))


def awaited(body: list[ast.stmt]) -> Iterator[ast.Call]:
    for node in own_nodes(body):
        if isinstance(node, ast.Await) and isinstance(node.value, ast.Call):
            yield node.value


def openings(body: list[ast.stmt]) -> Iterator[tuple[Block, str, str]]:
    """Each (block, receiver, what it opens) in ``body``."""
    for node in own_nodes(body):
        if isinstance(node, Block):
            for item in node.items:
                call = item.context_expr
                if (
                    isinstance(call, ast.Call)
                    and isinstance(call.func, ast.Attribute)
                    and call.func.attr in OPENERS
                ):
                    yield node, dotted(call.func.value), OPENERS[call.func.attr]


class Calls:
    """Which functions of ours a call may reach, and which of them make a network call."""

    def __init__(self, found: dict[str, Module]) -> None:
        self.found = found
        self.methods: dict[str, set[str]] = {}
        for module in found.values():
            for name in module.functions:
                if "." in name:
                    self.methods.setdefault(name.rpartition(".")[2], set()).add(
                        f"{module.name}:{name}"
                    )
        self.callers: dict[str, set[str]] = {}  # what a function awaits -> the function
        for module in found.values():
            for scope, fn in module.functions.items():
                for call in awaited(fn.body):
                    for target in self.targets(module, scope, call):
                        self.callers.setdefault(target, set()).add(f"{module.name}:{scope}")
        self.network = self._reach(NETWORK_PRIMITIVES)
        self.transactional = self._reach(
            {
                f"{module.name}:{scope}"
                for module in found.values()
                for scope, fn in module.functions.items()
                if any(what != "savepoint" for _, _, what in openings(fn.body))
            }
        )

    def targets(self, module: Module, scope: str, call: ast.Call) -> set[str]:
        name = dotted(call.func)
        head, _, rest = name.partition(".")
        if name in NETWORK_PRIMITIVES:
            return {name}
        if not rest:  # a function of this module, or one imported
            parent = scope.rpartition(".")[0]  # a function nested in another sees its names
            local = f"{parent}.{name}" if parent in module.functions else name
            for candidate in (local, name):
                if candidate in module.functions:
                    return {f"{module.name}:{candidate}"}
            imported = module.imports.get(name, "")
            return {imported} if ":" in imported else set()
        if head == "self" and "." not in rest and "." in scope:
            return {f"{module.name}:{scope.partition('.')[0]}.{rest}"}
        if module.imports.get(head) in self.found and "." not in rest:
            return {f"{module.imports[head]}:{rest}"}
        return self.methods.get(name.rpartition(".")[2], set())

    def _reach(self, seeds: set[str]) -> set[str]:
        """``seeds`` and every function that awaits one of them, and so on."""
        reached, queue = set(seeds), list(seeds)
        while queue:
            for caller in self.callers.get(queue.pop(), set()) - reached:
                reached.add(caller)
                queue.append(caller)
        return reached

    def makes_network_call(self, module: Module, scope: str, call: ast.Call) -> bool:
        return bool(self.targets(module, scope, call) & self.network)

    def opens_transaction(self, module: Module, scope: str, call: ast.Call) -> bool:
        return bool(self.targets(module, scope, call) & self.transactional)


def parameter_types(fn: Function) -> set[str]:
    args = fn.args.posonlyargs + fn.args.args + fn.args.kwonlyargs
    return {ast.unparse(a.annotation) for a in args if a.annotation is not None}


def kind(module: str, fn: Function | None, receivers: list[str], opens: list[str]) -> str:
    """Which kind of function opens these, by the policy's conventions."""
    parts = module.split(".")
    if parts[0] in ENTRY_PACKAGES or parts[-1] in ENTRY_MODULES or module in EDGE_MODULES:
        return "entry point"
    typed = parameter_types(fn) if fn is not None else set()
    if set(opens) == {"savepoint"} and "AsyncConnection" in typed:
        return "unit"
    if "AsyncEngine" in typed or all(r.rpartition(".")[2] in ENGINE_NAMES for r in receivers):
        return "workflow"
    return "unclassified"


def scopes(module: Module) -> Iterator[tuple[str, list[ast.stmt], Function | None]]:
    yield "(module)", module.tree.body, None
    for name, fn in module.functions.items():
        yield name, fn.body, fn


def sites(found: dict[str, Module] | None = None) -> list[Site]:
    listed = []
    for module in (found or modules()).values():
        for name, body, fn in scopes(module):
            in_order = sorted(openings(body), key=lambda o: (o[0].lineno, o[0].col_offset))
            opened = [(receiver, what) for _, receiver, what in in_order]
            if opened:
                receivers, opens = [r for r, _ in opened], [w for _, w in opened]
                listed.append(Site(module.name, name, kind(module.name, fn, receivers, opens),
                                   tuple(opens)))  # fmt: skip
    return sorted(listed, key=lambda s: (s.module, s.function))


def violations(found: dict[str, Module] | None = None) -> list[str]:
    """What breaks the policy, one line each: empty when the source keeps it."""
    found = found or modules()
    calls = Calls(found)
    wrong: list[str] = []
    for module in found.values():
        for scope, body, fn in scopes(module):
            where = f"{module.name}.{scope}"
            wrong.extend(
                f"{where} calls .{node.func.attr}(): the block ends it"
                for node in own_nodes(body)
                if isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in ENDINGS
            )
            takes_connection = fn is not None and "AsyncConnection" in parameter_types(fn)
            if takes_connection:  # it runs inside its caller's transaction
                wrong.extend(
                    f"{where} takes a connection, yet awaits {dotted(c.func)}(), a network call"
                    for c in awaited(body)
                    if calls.makes_network_call(module, scope, c)
                )
            for block, receiver, what in openings(body):
                if takes_connection and what != "savepoint":
                    wrong.append(f"{where} takes a connection, yet opens {receiver}.{what}")
                wrong.extend(_inside(calls, module, scope, where, block))
    return wrong


def _inside(calls: Calls, module: Module, scope: str, where: str, block: Block) -> list[str]:
    wrong = []
    for call in awaited(block.body):
        callee = dotted(call.func)
        if calls.makes_network_call(module, scope, call):
            wrong.append(f"{where} holds a connection across {callee}(), a network call")
        if calls.opens_transaction(module, scope, call) or any(
            _is_engine(a) for a in [*call.args, *(k.value for k in call.keywords)]
        ):
            wrong.append(f"{where} opens another transaction inside one, in {callee}()")
    return wrong


def _is_engine(node: ast.expr) -> bool:
    return dotted(node).rpartition(".")[2] in ENGINE_NAMES


def table(listed: list[Site]) -> str:
    lines = ["| module | function | kind | opens |", "|---|---|---|---|"]
    for site in listed:
        opens = ", ".join(
            f"{what} ×{site.opens.count(what)}" if site.opens.count(what) > 1 else what
            for what in dict.fromkeys(site.opens)
        )
        lines.append(f"| `{site.module}` | `{site.function}` | {site.kind} | {opens} |")
    return "\n".join(lines)


def documented() -> str:
    text = DOC.read_text()
    match = re.search(f"{re.escape(TABLE_START)}\n(.*?)\n{re.escape(TABLE_END)}", text, re.S)
    return match.group(1) if match else ""


def rewrite_doc() -> None:
    text = DOC.read_text()
    start, end = text.index(TABLE_START) + len(TABLE_START), text.index(TABLE_END)
    DOC.write_text(f"{text[:start]}\n{table(sites())}\n{text[end:]}")


if __name__ == "__main__":
    rewrite_doc()
    problems = violations()
    print("\n".join(problems) or "no violations")
    sys.exit(1 if problems else 0)
