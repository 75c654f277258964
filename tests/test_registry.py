"""The check registry: one function per public id, registered once, with what the rubric needs."""

from __future__ import annotations

from typing import Iterator

import pytest

from grader import registry
from grader.checks import load_all
from grader.registry import EVERYTHING, CheckSpec, Param, check


@pytest.fixture
def fresh(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, CheckSpec]]:
    """An empty registry for the test, the real one untouched."""
    table: dict[str, CheckSpec] = {}
    monkeypatch.setattr(registry, "REGISTRY", table)
    yield table


def passes(ctx: object) -> str:
    return "ok"


def test_registering_keeps_the_function_and_records_its_spec(fresh: dict[str, CheckSpec]) -> None:
    params = {"examples": Param(5, 1)}
    assert check("demo.one", task="task2", params=params)(passes) is passes
    spec = fresh["demo.one"]
    assert (spec.id, spec.task, spec.function) == ("demo.one", "task2", passes)
    assert spec.params == params and spec.params is not params


def test_calls_default_to_everything(fresh: dict[str, CheckSpec]) -> None:
    check("demo.all", task="task2")(passes)
    check("demo.some", task="task3", calls=("forward", "__init__"))(passes)
    assert fresh["demo.all"].calls == frozenset({EVERYTHING}) and fresh["demo.all"].params == {}
    assert fresh["demo.some"].calls == frozenset({"forward", "__init__"})


def test_a_duplicate_id_raises_and_keeps_the_first(fresh: dict[str, CheckSpec]) -> None:
    def other(ctx: object) -> str:
        return "other"

    check("demo.twice", task="task2")(passes)
    with pytest.raises(ValueError, match="check id 'demo.twice' is registered twice"):
        check("demo.twice", task="task3")(other)
    assert fresh["demo.twice"].function is passes and fresh["demo.twice"].task == "task2"


def test_a_real_check_cannot_be_registered_again() -> None:
    real = load_all()
    before = dict(real)
    with pytest.raises(ValueError, match="'rnn.forward' is registered twice"):
        check("rnn.forward", task="task2")(passes)
    assert dict(real) == before


def test_the_real_registry_holds_the_documented_ids_each_for_its_task() -> None:
    real = load_all()
    assert set(real) >= {"rnn.forward", "rnn.gradcheck", "rnn.weights", "rnn.loss_decrease", "lstm.init",
                         "lstm.forward", "lstm.gradcheck", "lstm.criterion", "lstm.state_carry",
                         "lstm.loss_decrease"}
    for spec in real.values():
        assert spec.task == {"rnn": "task2", "lstm": "task3"}[spec.id.split(".")[0]]


def test_a_param_knows_its_kind_from_its_default() -> None:
    assert Param(5).kind is int and Param(0.5).kind is float and Param(1e-4, 0, 1).maximum == 1
