"""What the grader knows about the lab's files (grader.tasks), checked against the course's own files."""

from __future__ import annotations

from conftest import ROOT
from grader.tasks import LAB
from grader.tasks.course import sizes
from grader.tasks.rnn import GRADIENTS


def test_the_course_files_define_their_tasks_and_nothing_else() -> None:
    for task, name in (("task2", "task2_min_char_rnn.py"), ("task3", "task3_min_char_lstm.py")):
        text = (ROOT / "submissions_template" / name).read_text()
        assert [t.id for t in LAB.tasks if t.pattern.search(text) and name.endswith(t.suffixes)] == [task]
        assert LAB.text in text  # the scripts open the training text by this name
    assert [t.id for t in LAB.tasks if t.runs_code and t.training] == ["task2", "task3"]


def test_the_starter_answers_file_is_the_answers_task_s_alone() -> None:
    text = (ROOT / "submissions_template" / "answers.yaml").read_text()
    assert [t.id for t in LAB.tasks if t.pattern.search(text) and "answers.yaml".endswith(t.suffixes)] == ["answers"]


def test_every_task_has_a_distinct_id_and_name_and_its_mistakes_live_in_its_parts() -> None:
    assert len({t.id for t in LAB.tasks}) == len({t.name for t in LAB.tasks}) == len(LAB.tasks)
    for task in LAB.tasks:
        assert all(m.part in task.parts for m in task.mistakes), task.id
        assert "{looked}" in task.missing or not task.runs_code


def test_sizes_are_the_globals_a_script_derives_from_its_text() -> None:
    got = sizes(3, 5)
    assert got["vocab_size"] == len(got["chars"]) == 3 and got["hidden_size"] == 5
    assert all(got["ix_to_char"][got["char_to_ix"][c]] == c for c in got["chars"])
    assert GRADIENTS == ("dWxh", "dWhh", "dWhy", "dbh", "dby")
