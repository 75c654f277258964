"""The catalog of known mistakes: well-formed ids, a diagnoser for every part, and the README's list."""

from __future__ import annotations

import re

import pytest

from conftest import ROOT
from grader.rubric import checks_of
from grader.tasks import LAB
from grader.mistakes import CATALOG, DIAGNOSERS, most_likely, diagnoser, parts_reached

TASK_OF_PREFIX = {"rnn": "task2", "lstm": "task3", "answers": "answers"}


def test_every_mistake_has_a_stable_id_and_lives_in_a_part_of_its_task() -> None:
    for mistake_id, mistake in CATALOG.items():
        assert re.fullmatch(r"(rnn|lstm|answers)\.[a-z_0-9]+", mistake_id), mistake_id
        assert mistake.id == mistake_id
        assert mistake.part in LAB.task(TASK_OF_PREFIX[mistake_id.split(".")[0]]).parts, mistake_id
        assert mistake.words and not mistake.words.endswith("."), mistake_id


def test_the_issue_s_ids_are_all_in_the_catalog() -> None:
    """The ids are a public contract: the ones promised are there (more may follow)."""
    promised = {"rnn.sigmoid", "rnn.relu", "rnn.no_activation", "rnn.double_tanh", "rnn.whh_transposed",
                "rnn.missing_bias", "rnn.no_recurrence", "rnn.bias_outside_tanh", "rnn.missing_input",
                "lstm.nll_on_raw_scores", "lstm.mse", "lstm.summed_loss", "lstm.softmax_in_forward",
                "lstm.ignores_state", "lstm.two_layers", "lstm.no_output_layer", "lstm.super_init_missing",
                "lstm.state_swapped", "lstm.state_reset", "lstm.state_not_detached", "lstm.whole_tuple",
                "lstm.both_h", "answers.no_bias", "answers.output_layer_counted", "answers.missing_factor_4"}
    assert promised <= set(CATALOG)


def test_every_part_of_a_script_that_has_a_mistake_has_a_diagnoser() -> None:
    """Part 1's answers have none: their check names the slip a wrong count shows."""
    checks_of(LAB)
    for mistake in CATALOG.values():
        task = TASK_OF_PREFIX[mistake.id.split(".")[0]]
        assert task == "answers" or (task, mistake.part) in DIAGNOSERS, mistake.id
    assert not [key for key in DIAGNOSERS if key[0] == "answers"]


@pytest.mark.parametrize("check_id,parts", [
    ("rnn.forward", ("lossFun",)),
    ("rnn.loss_decrease", ("lossFun",)),
    ("lstm.init", ("__init__",)),
    ("lstm.gradcheck", ("__init__", "forward")),
    ("lstm.criterion", ("criterion",)),
    ("lstm.state_carry", ("__init__", "forward", "criterion", "loop")),
])
def test_a_check_reaches_the_parts_it_calls_and_a_training_check_all_of_them(check_id: str,
                                                                             parts: tuple[str, ...]) -> None:
    spec = checks_of(LAB)[check_id]
    assert parts_reached(spec, LAB.task(spec.task)) == parts


def test_a_part_has_one_diagnoser_and_an_unknown_part_none() -> None:
    checks_of(LAB)
    with pytest.raises(ValueError):
        diagnoser(LAB.task("task2"), "lossFun")(lambda ctx: None)
    with pytest.raises(ValueError):
        diagnoser(LAB.task("task3"), "backward")(lambda ctx: None)


def test_the_sentence_a_report_adds_names_the_mistake_in_words_and_by_id() -> None:
    assert most_likely("rnn.sigmoid") == ("most likely: a sigmoid instead of np.tanh in the hidden-state line "
                                          "[rnn.sigmoid]")


def test_the_readme_lists_every_mistake_with_its_words() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## Known mistakes"):]
    rows = dict(re.findall(r"^\| `([a-z_.0-9]+)` \| [^|]+ \| (.+) \|$", section, re.MULTILINE))
    assert rows == {m.id: m.words for m in CATALOG.values()}
