"""The RNN checks' mutants: each known mistake of the hidden-state line is told apart from the
others and from the lab's line on the diagnoser's fixed cases."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from grader.context import reference
from grader.tasks.rnn import PARAMETERS
from grader.tasks.rnn.checks import RnnCase
from grader.tasks.rnn.diagnosis import MUTANTS, diagnostic_cases
from grader.mistakes import CATALOG
from grader.rubric import load_rubric


def values(case: RnnCase, step: object) -> np.ndarray:
    """The loss and last hidden state of the lab's RNN with `step` as its hidden-state line."""
    with np.errstate(all="ignore"):
        loss, h = reference("rnn").forward(list(case.inputs), list(case.targets), case.hprev,
                                           *(case.params[p] for p in PARAMETERS), step=step)
    return np.concatenate([[loss], h.reshape(-1)])


def test_every_rnn_mistake_of_the_catalog_has_a_mutant() -> None:
    assert set(MUTANTS) == {m for m in CATALOG if m.startswith("rnn.")}


def test_on_the_diagnostic_cases_no_two_lines_give_the_same_values() -> None:
    """Apart by far more than the rubric's tolerance, so that a match names one mistake."""
    settings = load_rubric().diagnosis
    lines = {"the lab's line": reference("rnn").hidden_step, **MUTANTS}
    got = {name: np.concatenate([values(case, step) for case in diagnostic_cases()]) for name, step in lines.items()}
    for (a, va), (b, vb) in itertools.combinations(got.items(), 2):
        gap = np.abs(va - vb).max()
        assert gap > 100 * (settings["atol"] + settings["rtol"] * np.abs(vb).max()), (a, b, gap)


@pytest.mark.parametrize("mistake", sorted(MUTANTS))
def test_the_default_line_is_the_lab_s_and_a_mutant_changes_it(mistake: str) -> None:
    case = diagnostic_cases()[0]
    right = values(case, reference("rnn").hidden_step)
    assert np.array_equal(values(case, MUTANTS[mistake]), values(case, MUTANTS[mistake]))
    assert not np.allclose(values(case, MUTANTS[mistake]), right)
    loss, h = reference("rnn").forward(list(case.inputs), list(case.targets), case.hprev,
                                       *(case.params[p] for p in PARAMETERS))
    assert np.array_equal(np.concatenate([[loss], h.reshape(-1)]), right)
