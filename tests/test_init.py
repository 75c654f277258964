"""The package as a whole: a small pinned public face that costs a worker nothing, no import loops, and an
engine that knows the lab only through its task packages."""

from __future__ import annotations

import ast
import re
import subprocess
import sys

from conftest import GRADING, ROOT

import grader


def test_exported_names_are_pinned() -> None:
    assert grader.__all__ == ["CheckResult", "GraderError", "Report", "Rubric", "grade", "load_rubric"]
    for name in grader.__all__:
        assert getattr(grader, name) is not None


def test_importing_the_worker_loads_no_grading_code() -> None:
    code = ("import sys, grader.worker; bad = [m for m in sys.modules if m.startswith((" + GRADING +
            "'grader.pipeline', 'grader.rubric', 'hypothesis', 'reference', '_grader_reference'))]; print(bad)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def _imports() -> dict[str, set[str]]:
    """Each module of grader/ and the grader modules it imports, at any depth of its code (inside
    functions too), leaving out imports under `if TYPE_CHECKING:`."""
    package = ROOT / "grader"
    names = {".".join(p.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__"): p
             for p in package.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in names.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        typing_only = {id(n) for node in ast.walk(tree) if isinstance(node, ast.If)
                       and ast.unparse(node.test).endswith("TYPE_CHECKING") for n in ast.walk(node)}
        found: set[str] = set()
        for node in ast.walk(tree):
            if id(node) in typing_only:
                continue
            if isinstance(node, ast.Import):
                found |= {a.name for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found |= {f"{node.module}.{a.name}" if f"{node.module}.{a.name}" in names else node.module
                          for a in node.names}
        graph[name] = {m for m in found if m in names and m != name}
    return graph


def test_no_module_of_the_grader_imports_itself_round_a_loop() -> None:
    graph, loops = _imports(), []
    for start in graph:
        todo, seen = [(start, [start])], set()
        while todo:
            module, path = todo.pop()
            for imported in graph[module]:
                if imported == start:
                    loops.append(" -> ".join([*path, start]))
                elif imported not in seen:
                    seen.add(imported)
                    todo.append((imported, [*path, imported]))
    assert not loops, loops[:5]
    assert "grader.tasks.rnn.checks" in graph["grader.tasks.rnn.diagnosis"]  # the graph sees imports at all


LAB_NAMES = ("lossFun", "_charLSTM", "charLSTM", "hprev", "cprev", "hcprev", "Wxh", "Whh", "task2", "task3")


def test_the_engine_never_names_the_lab_s_code_only_its_task_packages_do() -> None:
    outside = [p for p in (ROOT / "grader").rglob("*.py") if (ROOT / "grader" / "tasks") not in p.parents]
    named = [f"{p.relative_to(ROOT)}: {word}" for p in outside for word in LAB_NAMES
             if re.search(rf"\b{word}\b", p.read_text(encoding="utf-8"))]
    assert not named
    inside = " ".join(p.read_text(encoding="utf-8") for p in (ROOT / "grader" / "tasks").rglob("*.py"))
    assert all(re.search(rf"\b{word}\b", inside) for word in LAB_NAMES)  # the words are the lab's
