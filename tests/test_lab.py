"""What the grader knows about the lab's files, checked against the course's own files."""

from __future__ import annotations

from conftest import ROOT
from grader import lab


def test_the_course_files_define_their_tasks_and_nothing_else() -> None:
    for task, name in (("task2", "task2_min_char_rnn.py"), ("task3", "task3_min_char_lstm.py")):
        text = (ROOT / "submissions_template" / name).read_text()
        assert [t for t, pattern in lab.TASKS.items() if pattern.search(text)] == [task]
        assert lab.TEXT in text  # the scripts open the training text by this name
    assert set(lab.DEFINES) == set(lab.TASKS) == set(lab.TRAINING_CALLS)


def test_sizes_are_the_globals_a_script_derives_from_its_text() -> None:
    got = lab.sizes(3, 5)
    assert got["vocab_size"] == len(got["chars"]) == 3 and got["hidden_size"] == 5
    assert all(got["ix_to_char"][got["char_to_ix"][c]] == c for c in got["chars"])
    assert lab.RNN_GRADIENTS == ("dWxh", "dWhh", "dWhy", "dbh", "dby")
