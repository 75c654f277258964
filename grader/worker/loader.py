"""Loading a task file without its endless training loop, and stepping that loop on request.

The module's top-level statements run one at a time (a failing one is recorded and the
rest still run). The task's training loop is not run as written: it becomes a function
that performs exactly one iteration, which the grader calls as many times as it wants.
"""

from __future__ import annotations

import ast
import builtins
import io
import os
import traceback
from typing import Any, Callable

import numpy as np

STEP = "__grader_step__"
ITERATOR = "__grader_iterator__"


class BadAnswer(Exception):
    """Student code returned something that is not an answer of the expected kind."""


class NotRunnable(Exception):
    """Code that cannot run whatever the input: a line that is not valid Python was reached,
    or a definition the check needs is missing (the message names file and line)."""


class Module:
    """One loaded task file: its namespace and its training loop as a step function."""

    def __init__(self, filename: str, display: str, broken: dict[str, str]) -> None:
        self.filename = filename
        self.display = display
        self.broken = {int(k): v for k, v in broken.items()}
        self.namespace: dict[str, Any] = {}
        self.objects: dict[str, Any] = {}
        """What probes keep between requests (a model built at chosen sizes, say)."""
        self.loop: ast.While | ast.For | None = None
        self.step: Callable[[], bool] | None = None
        self.classes: dict[str, ast.ClassDef] = {}
        """The top-level class statements, to run again once the grader has chosen the sizes."""

    def define_again(self, name: str) -> None:
        """Run the class statement `name` again, so that what it reads when it is defined (default
        arguments, class attributes) sees the sizes the grader set since."""
        statement = self.classes.get(name)
        if statement is not None:
            exec(compile(ast.Module([statement], []), self.display, "exec"), self.namespace)

    def function(self, name: str) -> Callable[..., Any]:
        """A callable the task defines, or a clear error naming what is missing."""
        value = self.namespace.get(name)
        if not callable(value):
            hint = f"; {next(iter(self.broken.values()))}" if self.broken else ""
            raise NotRunnable(f"{name} is not defined by {self.display}{hint}")
        return value  # type: ignore[no-any-return]


def load(module: Module, request: dict[str, Any]) -> dict[str, Any]:
    """Run the definitions of the task file; report the statements that raised.

    Top-level statements calling a name in request["skip"] are not run (a check that
    builds its own model need not survive the script building one), nor the statements
    that use what those would have defined.
    """
    with open(module.filename, encoding="utf-8") as f:
        tree = ast.parse(f.read(), module.display)
    statements = _flatten(tree.body)
    task_loop = _training_loop(statements, set(request["training"]))
    others = set(request["training"]).union(request["others"])
    module.namespace.update({"__name__": "__main__", "__file__": module.filename,
                             "__builtins__": _builtins(request["text"]), "__grader_broken__": _broken(module)})
    errors, skipped = [], 0
    avoid: set[str] = set(request.get("skip", ()))
    undefined: set[str] = set()
    for statement in statements:
        if statement is task_loop:
            break
        if isinstance(statement, (ast.While, ast.For)) and _mentions(statement, others):
            skipped += 1  # another task's training loop (a notebook holding both tasks)
            continue
        if avoid and (_calls(statement, avoid) or _mentions(statement, undefined)):
            undefined |= _bound(statement)
            skipped += 1
            continue
        error = _run(module, statement)
        if error:
            errors.append({"line": statement.lineno, "message": error})
        elif isinstance(statement, ast.ClassDef):
            module.classes[statement.name] = statement
    module.loop = task_loop
    return {"errors": errors, "loop": task_loop is not None, "skipped": skipped}


def train(module: Module, request: dict[str, Any]) -> dict[str, Any]:
    """Set the globals in request["set"], run up to `iterations` iterations of the training loop,
    and return the globals named in request["final"] as they are after the last one."""
    if module.loop is None:
        raise NotRunnable(f"no training loop (a top-level while or for loop calling "
                          f"{' or '.join(sorted(request['calls']))}) found in {module.display}")
    module.namespace.update({name: np.array(value, dtype=np.float64) for name, value in request["set"].items()})
    step = step_function(module)
    done = 0
    for _ in range(int(request["iterations"])):
        if not step():
            break
        done += 1
    return {"iterations": done, "final": {name: array(module.namespace.get(name), name) for name in request["final"]}}


def names(module: Module, request: dict[str, Any]) -> dict[str, Any]:
    """The values of some of the task's globals: numbers and arrays, or lists of strings (chars)."""
    return {name: _plain(module.namespace.get(name), name) for name in request["names"]}


def call(module: Module, request: dict[str, Any]) -> dict[str, Any]:
    """The value of the task's function request["function"] called with request["args"] (numbers and
    arrays), as an array: for a task whose checks need no operations of their own."""
    name = str(request["function"])
    return {"value": array(module.function(name)(*request["args"]), f"{name}'s value")}


def _plain(value: Any, name: str) -> Any:
    if isinstance(value, str) or isinstance(value, (list, tuple)) and value and all(isinstance(v, str) for v in value):
        return [str(v) for v in value]
    return array(value, name)


def scalar(value: Any, name: str) -> float:
    """A number from student code, or BadAnswer saying what it was instead."""
    try:
        return float(np.asarray(value, dtype=np.float64).reshape(()))
    except (TypeError, ValueError) as e:
        raise BadAnswer(f"{name} should be a number, got {type(value).__name__}") from e


def array(value: Any, name: str) -> np.ndarray:
    """A float64 array from student code, or BadAnswer saying what it was instead."""
    try:
        result = np.array(value, dtype=np.float64)
    except (TypeError, ValueError) as e:
        raise BadAnswer(f"{name} should be an array of numbers, got {type(value).__name__}") from e
    return result


def _run(module: Module, statement: ast.stmt) -> str | None:
    code = compile(ast.Module([statement], []), module.display, "exec")
    try:
        exec(code, module.namespace)
    except BaseException as e:  # noqa: BLE001  (a failing statement must not stop the load)
        return one_line(e, module)
    return None


def one_line(error: BaseException, module: Module) -> str:
    """An exception from student code as one line: what, and where in the student's file."""
    if isinstance(error, NotRunnable):
        return str(error)
    if isinstance(error, SystemExit):
        what = f"called sys.exit({error.code!r})"
    elif isinstance(error, MemoryError):
        what = "ran out of memory (MemoryError)"
    else:
        what = f"{type(error).__name__}: {error}".rstrip(": ")
    frames = [f for f in traceback.extract_tb(error.__traceback__) if f.filename == module.display]
    if frames:
        last = frames[-1]
        return f"{what} ({module.display} line {last.lineno}, in {last.name})"
    return what


def _flatten(body: list[ast.stmt]) -> list[ast.stmt]:
    """Top-level statements, with the body of `if __name__ == "__main__":` lifted up."""
    out: list[ast.stmt] = []
    for s in body:
        if isinstance(s, ast.If) and _is_main_guard(s.test) and not s.orelse:
            out.extend(_flatten(s.body))
        else:
            out.append(s)
    return out


def _is_main_guard(test: ast.expr) -> bool:
    return (isinstance(test, ast.Compare) and isinstance(test.left, ast.Name)
            and test.left.id == "__name__" and len(test.comparators) == 1
            and isinstance(test.comparators[0], ast.Constant) and test.comparators[0].value == "__main__")


def _training_loop(statements: list[ast.stmt], names: set[str]) -> ast.While | ast.For | None:
    for s in statements:
        if isinstance(s, (ast.While, ast.For)) and _mentions(s, names):
            return s
    return None


def _bound(statement: ast.stmt) -> set[str]:
    return {n.id for n in ast.walk(statement) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}


def _calls(node: ast.AST, names: set[str]) -> bool:
    return any(isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id in names
               for n in ast.walk(node))


def _mentions(node: ast.AST, names: set[str]) -> bool:
    return any(isinstance(n, ast.Name) and n.id in names for n in ast.walk(node))


def step_function(module: Module) -> Callable[[], bool]:
    """Compile the training loop into a function running one iteration (False when it ends)."""
    if module.step is not None:
        return module.step
    loop = module.loop
    assert loop is not None
    once = ast.For(target=ast.Name("__grader_once__", ast.Store()),
                   iter=ast.Tuple([ast.Constant(0)], ast.Load()),
                   body=[s for s in loop.body if not isinstance(s, ast.Global)] or [ast.Pass()],
                   orelse=[ast.Return(ast.Constant(True))])
    head: list[ast.stmt] = []
    if isinstance(loop, ast.While):
        head.append(ast.If(ast.UnaryOp(ast.Not(), loop.test), [ast.Return(ast.Constant(False))], []))
    else:
        module.namespace[ITERATOR] = iter(eval(compile(ast.Expression(loop.iter), module.display, "eval"),
                                               module.namespace))
        head.append(_next_item(loop.target))
    assigned = sorted(_assigned(loop) | {"__grader_once__"})
    function = ast.FunctionDef(STEP, ast.arguments([], [], None, [], [], None, []),
                               [ast.Global(assigned), *head, once, ast.Return(ast.Constant(False))], [])
    tree = ast.fix_missing_locations(ast.copy_location(ast.Module([function], []), loop))
    exec(compile(tree, module.display, "exec"), module.namespace)
    module.step = module.namespace[STEP]
    return module.step


def _next_item(target: ast.expr) -> ast.stmt:
    fetch = ast.Assign([target], ast.Call(ast.Name("next", ast.Load()), [ast.Name(ITERATOR, ast.Load())], []))
    stop = ast.ExceptHandler(ast.Name("StopIteration", ast.Load()), None, [ast.Return(ast.Constant(False))])
    return ast.Try([fetch], [stop], [], [])


def _assigned(loop: ast.While | ast.For) -> set[str]:
    """Names the loop binds at module level (not inside nested functions, classes or lambdas)."""
    names: set[str] = set()
    todo: list[ast.AST] = [*loop.body] + ([loop.target] if isinstance(loop, ast.For) else [])
    while todo:
        node = todo.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
            continue
        if isinstance(node, (ast.Lambda, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)):
            continue
        if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            names.add(node.id)
        elif isinstance(node, ast.alias):
            names.add((node.asname or node.name).split(".")[0])
        elif isinstance(node, ast.ExceptHandler) and node.name:
            names.add(node.name)
        elif isinstance(node, ast.Global):
            names.update(node.names)
        todo.extend(ast.iter_child_nodes(node))
    return names


def _broken(module: Module) -> Callable[[int], None]:
    def broken(line: int) -> None:
        raise NotRunnable(module.broken.get(line, f"line {line} is not valid Python"))

    return broken


def _builtins(text: str) -> dict[str, Any]:
    """The builtins, with open() finding the training text `text` wherever the student said it was."""
    names = dict(vars(builtins))
    real_open = builtins.open

    def open_text(file: Any, *args: Any, **kwargs: Any) -> io.IOBase:
        if isinstance(file, (str, os.PathLike)) and os.path.basename(os.fspath(file)).lower() == text.lower():
            file = text
        return real_open(file, *args, **kwargs)  # type: ignore[no-any-return]

    names["open"] = open_text
    return names


OPERATIONS = {"load": load, "train": train, "names": names, "call": call}
