"""Every registered KPI has a test that recomputes it independently (pandas on the raw
rows) and compares: such a test says so with `@pytest.mark.recomputes("kpi_id", ...)`.

The marks are found by reading the test files (an AST scan), so the answer does not depend
on which tests this session collects or in what order."""

from __future__ import annotations

import ast
import importlib
import importlib.util
from collections.abc import Iterator
from pathlib import Path

from django.apps import apps

from lifecycle.catalog.kpis import KPI_DEFINITIONS

TESTS = Path(__file__).parent

# KPIs no test recomputes independently yet: none. A new KPI comes with its
# recomputation, not with an entry here.
NOT_YET_RECOMPUTED: set[str] = set()


def registered_kpis() -> set[str]:
    """Every KPI id, once each app's KPI module (or package) has been imported: Django's
    start-up imports the apps' models, not their KPIs."""
    for config in apps.get_app_configs():
        if importlib.util.find_spec(f"{config.name}.kpis") is not None:
            importlib.import_module(f"{config.name}.kpis")
    return set(KPI_DEFINITIONS)


def _marks(tree: ast.AST) -> Iterator[ast.Call]:
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "recomputes"
            and _names_mark(node.func.value)
        ):
            yield node


def _names_mark(node: ast.expr) -> bool:
    """`pytest.mark` or a bare `mark` (from pytest import mark)."""
    if isinstance(node, ast.Attribute):
        return node.attr == "mark"
    return isinstance(node, ast.Name) and node.id == "mark"


def _ids(call: ast.Call, module: ast.Module) -> Iterator[str]:
    for arg in call.args:
        if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
            yield arg.value
        elif isinstance(arg, ast.Starred) and isinstance(arg.value, ast.Name):
            yield from _module_strings(module, arg.value.id)
        else:
            raise AssertionError(f"recomputes() takes KPI ids as strings, not {ast.dump(arg)}")


def _module_strings(module: ast.Module, name: str) -> Iterator[str]:
    """The strings of a module-level tuple or list, for `recomputes(*NAMES)`."""
    for node in module.body:
        if (
            isinstance(node, ast.Assign)
            and any(isinstance(t, ast.Name) and t.id == name for t in node.targets)
            and isinstance(node.value, ast.Tuple | ast.List)
        ):
            yield from (e.value for e in node.value.elts if isinstance(e, ast.Constant))
            return
    raise AssertionError(f"recomputes(*{name}): no module-level tuple {name}")


def marked_kpis(root: Path = TESTS) -> dict[str, set[str]]:
    """KPI id -> the test files that mark a recomputation of it."""
    found: dict[str, set[str]] = {}
    for path in sorted(root.rglob("*.py")):
        module = ast.parse(path.read_text(), filename=str(path))
        for call in _marks(module):
            for kpi_id in _ids(call, module):
                found.setdefault(kpi_id, set()).add(str(path.relative_to(root)))
    return found


def test_every_registered_kpi_is_recomputed_independently():
    missing = registered_kpis() - set(marked_kpis()) - NOT_YET_RECOMPUTED
    assert not missing, (
        f"no test recomputes {sorted(missing)}: write one (pandas on the raw rows) and mark "
        'it @pytest.mark.recomputes("<kpi id>")'
    )


def test_the_list_of_kpis_not_yet_recomputed_only_shrinks():
    recomputed = NOT_YET_RECOMPUTED & set(marked_kpis())
    assert not recomputed, f"now recomputed, take them off NOT_YET_RECOMPUTED: {recomputed}"
    unknown = NOT_YET_RECOMPUTED - registered_kpis()
    assert not unknown, f"NOT_YET_RECOMPUTED names no registered KPI: {sorted(unknown)}"


def test_every_marked_id_is_a_registered_kpi():
    unknown = {k: v for k, v in marked_kpis().items() if k not in registered_kpis()}
    assert not unknown, f"recomputes() names KPIs nobody registered: {unknown}"


def test_the_scan_finds_a_mark_in_any_form(tmp_path):
    (tmp_path / "test_example.py").write_text(
        "import pytest\n"
        "from pytest import mark\n"
        'IDS = ("errors", "uptime")\n'
        '@pytest.mark.recomputes("inferences")\n'
        "def test_a(): ...\n"
        "@mark.recomputes(*IDS)\n"
        "def test_b(): ...\n"
        'pytestmark = pytest.mark.recomputes("calls")\n'
    )
    assert set(marked_kpis(tmp_path)) == {"inferences", "errors", "uptime", "calls"}
