"""Moodle's file formats: zip entry names parse, and the worksheets and feedback names the grader writes are
read back by a port of Moodle's own import code (tests/moodle_import.py) as the tutor meant them."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from grader.errors import UsageError
from grader.moodle import (EntryName, Grade, MoodleError, Worksheet, feedback_member, fresh_worksheet, identifier,
                           parse_entry)
from moodle_import import (ENGLISH, GERMAN, CsvRefused, Existing, Strings, download_entry, fgetcsv_all,
                           import_worksheet, is_valid_filename_for_import, load_csv_content, shown, zip_name)

WHEN = datetime(2025, 3, 14, 10, 15, tzinfo=timezone.utc)
STAMP = int(WHEN.timestamp())
TRICKY = 'Gut, aber "hs[t]" falsch;\nZeile 2 – äöü ß, C:\\Temp\\ & <b> \\'
"""Feedback with a comma, quotes, a newline, accents, backslashes (one ending the text) and HTML specials."""

# A German worksheet as Moodle 4 downloads it: BOM, CRLF, identity field, decimal commas, localised dates, a
# participant without submission, an existing comment with quotes. hiddenuser is 'Teilnehmer/in' (no space).
GERMAN_SHEET = "\ufeff" + "\r\n".join([
    "ID,Vollständiger Name,E-Mail-Adresse,Status,Bewertung,Bestwertung,Bewertung kann geändert werden,"
    "Zuletzt geändert (Abgabe),Zuletzt geändert (Bewertung),Feedback als Kommentar",
    "Teilnehmer/in123456,Zoë O'Brien,zoe@example.org,Zur Bewertung abgegeben,,\"14,00\",Ja,"
    "\"Freitag, 14. März 2025, 10:15\",-,",
    "Teilnehmer/in123457,\"Müller, Jörg\",joerg@example.org,Zur Bewertung abgegeben,\"7,50\",\"14,00\",Ja,"
    "\"Donnerstag, 13. März 2025, 09:00\",\"Freitag, 14. März 2025, 11:00\",\"<p>Schon \"\"gut\"\"</p>\"",
    "Teilnehmer/in123458,Ana Lima,ana@example.org,Keine Abgabe,,\"14,00\",Ja,-,-,",
    ""])
GERMAN_PARTICIPANTS = {123456, 123457, 123458}

ENGLISH_SHEET = "\n".join([
    "Identifier,Full name,Email address,Status,Grade,Maximum Grade,Grade can be changed,"
    "Last modified (submission),Online text,Last modified (grade),Feedback comments",
    "Participant 11,Jane Doe,jane@example.org,Submitted for grading,,14.00,Yes,"
    "\"Friday, 14 March 2025, 10:15 AM\",,-,",
    "Participant 12,Bob Stone,bob@example.org,No submission,,14.00,Yes,-,,-,",
    ""])


def written(text: str) -> str:
    """The feedback a student reads: newlines as "\\n", no control characters but tab and newline."""
    return re.sub(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]", "", text.replace("\r\n", "\n").replace("\r", "\n"))


def sheet(tmp_path: Path, text: str | bytes, name: str = "worksheet.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8") if isinstance(text, str) else text)
    return path


def lines(data: bytes) -> list[str]:
    return data.decode("utf-8").lstrip("\ufeff").split("\r\n")


# -- parse_entry -------------------------------------------------------------------------------------

@pytest.mark.parametrize("component, expected", [
    ("Jane Doe_123456_assignsubmission_file", EntryName("Jane Doe", "123456", "assignsubmission_file", "")),
    ("Jane Doe_123456_assignsubmission_file_", EntryName("Jane Doe", "123456", "assignsubmission_file", "")),
    ("Jane Doe_123456_assignsubmission_file_task2_min_char_rnn.py",
     EntryName("Jane Doe", "123456", "assignsubmission_file", "task2_min_char_rnn.py")),
    ("Jane Doe_123456_assignsubmission_onlinetext",
     EntryName("Jane Doe", "123456", "assignsubmission_onlinetext", "")),
    ("Jane Doe_7_assignsubmission_onlinetext_onlinetext.html",
     EntryName("Jane Doe", "7", "assignsubmission_onlinetext", "onlinetext.html")),
])
def test_every_layout_moodle_writes_gives_name_number_plugin_and_file(component: str, expected: EntryName) -> None:
    assert parse_entry(component) == expected


@pytest.mark.parametrize("name", ["Zoë O'Brien", "Zoë OBrien", "Jean-Luc Picard", "José María  García",
                                  "Þórunn Ægisdóttir", "李小龍", "Søren Kierkegaard-Ørsted Jr."])
def test_names_keep_accents_apostrophes_spaces_and_hyphens(name: str) -> None:
    entry = parse_entry(f"{name}_42_assignsubmission_file")
    assert entry is not None and (entry.name, entry.id) == (name, "42")


def test_blind_marking_entries_are_named_participant() -> None:
    assert parse_entry("Participant_123456_assignsubmission_file") == EntryName(
        "Participant", "123456", "assignsubmission_file", "")


def test_team_entries_keep_the_group_before_the_member_name() -> None:
    assert parse_entry(download_entry("Team A-Jane Doe", 99)) == EntryName(
        "Team A-Jane Doe", "99", "assignsubmission_file", "")
    assert parse_entry("Team A_5_assignsubmission_file_").name == "Team A"  # type: ignore[union-attr]


@pytest.mark.parametrize("component", [
    "task2_min_char_rnn.py", "Jane Doe", "lab5", "", "__MACOSX", "Jane Doe_abc_assignsubmission_file",
    "Jane_Doe_123_assignsubmission_file", "Jane Doe_123_file", "Jane Doe_123_assignsubmission_",
    "Jane Doe_１２３_assignsubmission_file", "Jane Doe_123_submission_file", "Jane Doe_123_assignsubmission_File",
])
def test_names_moodle_did_not_write_give_none(component: str) -> None:
    assert parse_entry(component) is None


@given(st.text(), st.integers(1, 10**9), st.booleans(), st.one_of(st.none(), st.text(min_size=1)))
def test_every_name_download_submissions_builds_parses_back(fullname: str, uniqueid: int, before_4_1: bool,
                                                            filename: str | None) -> None:
    entry = parse_entry(download_entry(fullname, uniqueid, filename=filename, before_4_1=before_4_1))
    assert entry is not None
    assert entry.id == str(uniqueid)
    assert entry.name == download_entry(fullname, uniqueid).split("_")[0]
    assert "_" not in entry.name
    assert entry.plugin == "assignsubmission_file"


def test_entry_names_survive_a_real_zip() -> None:
    names = [download_entry("Zoë O'Brien", 1) + "/task2.py", download_entry("李小龍", 2, filename="a_b.ipynb")]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name in names:
            archive.writestr(name, "x")
    with zipfile.ZipFile(buffer) as archive:
        entries = [parse_entry(info.filename.split("/")[0]) for info in archive.infolist()]
    assert [(e.name, e.id, e.file) for e in entries if e] == [("Zoë OBrien", "1", ""), ("李小龍", "2", "a_b.ipynb")]


# -- feedback_member and identifier -------------------------------------------------------------------

def test_feedback_member_is_the_flat_name_moodle_attaches_to_the_participant() -> None:
    member = feedback_member("Jane Doe", "123456")
    assert member == "Jane Doe_123456_assignsubmission_file_feedback.html"
    found = is_valid_filename_for_import(member, {123456})
    assert found is not None
    assert (found.participant, found.plugin, found.filename) == (123456, ("assignsubmission", "file"),
                                                                 "feedback.html")


@pytest.mark.parametrize("name", ["Zoë O'Brien", "a_b_c", "x/y\\z", "tab\there\x00\x1f\x85", ".hidden",
                                  "~backup", "..", "", "  ", "<b>&amp;</b>", "Ana | \"Lima\": `x`"])
def test_feedback_member_cleans_any_name_into_one_moodle_keeps(name: str) -> None:
    member = feedback_member(name, "77", "report.html")
    assert zip_name(member) == member
    assert member.count("/") == 0 and not member.startswith((".", "~"))
    found = is_valid_filename_for_import(member, {77})
    assert found is not None and (found.participant, found.filename) == (77, "report.html")


def test_feedback_member_refuses_what_is_no_participant_number_or_file_name() -> None:
    for bad in ("", "12a", "-3", "１２", "1.5"):
        with pytest.raises(ValueError):
            feedback_member("Jane", bad)
    for file in ("", "/", ".."):
        with pytest.raises(ValueError):
            feedback_member("Jane", "1", file)


@given(st.text(st.characters(blacklist_categories=("Cc", "Cs"), blacklist_characters="_")),
       st.integers(0, 10**12))
def test_any_name_and_number_give_a_member_moodle_maps_to_that_number(name: str, number: int) -> None:
    member = feedback_member(name, str(number))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(member, "<p>feedback</p>")
    with zipfile.ZipFile(buffer) as archive:
        [stored] = archive.namelist()
    found = is_valid_filename_for_import(stored, {number})
    assert found is not None
    assert (found.participant, found.filename) == (number, "feedback.html")


def test_identifier_is_what_the_worksheet_importer_strips() -> None:
    assert identifier("123456") == "Participant 123456"
    data = fresh_worksheet([("123456", "Jane Doe", Grade(3, 14, ""))], modified=WHEN)
    assert import_worksheet(data, {123456}, 14).grades == {123456: 3.0}
    with pytest.raises(ValueError):
        identifier("Participant 1")


# -- fresh_worksheet ---------------------------------------------------------------------------------

def test_fresh_worksheet_has_exactly_the_headers_and_cells_moodle_reads() -> None:
    data = fresh_worksheet([("5", "Ana Lima", Grade(11.5, 14, "ok"))], modified=WHEN)
    assert not data.startswith(b"\xef\xbb\xbf")
    assert load_csv_content(data) == [
        ["Identifier", "Full name", "Grade", "Maximum Grade", "Last modified (grade)", "Feedback comments"],
        ["Participant 5", "Ana Lima", "11.5", "14", "2025-03-14T10:15:00+00:00", "ok"]]


@pytest.mark.parametrize("value, cell", [(11.5, "11.5"), (14.0, "14"), (28 / 3, "9.33333"), (0.0, "0"),
                                         (-0.0, "0"), (0.000004, "0"), (13.999999, "14"), (100, "100")])
def test_grades_are_written_with_a_decimal_point_and_no_trailing_zeros(value: float, cell: str) -> None:
    data = fresh_worksheet([("1", "A", Grade(value, 100, ""))], modified=WHEN)
    assert load_csv_content(data)[1][2] == cell


def test_fresh_worksheet_imports_every_grade_and_feedback_as_written() -> None:
    rows = [("1", "Zoë O'Brien", Grade(11.5, 14, TRICKY)), ("2", 'Jo "JJ" Smith\\', Grade(14, 14, "")),
            ("3", "Ana, Lima", Grade(0, 14, "Nothing handed in."))]
    imported = import_worksheet(fresh_worksheet(rows, modified=WHEN), {1, 2, 3}, 14)
    assert imported.grades == {1: 11.5, 2: 14.0, 3: 0.0}
    assert {n: shown(c) for n, c in imported.comments.items()} == {1: TRICKY, 3: "Nothing handed in."}


def test_fresh_worksheet_updates_grades_moodle_already_has() -> None:
    existing = {1: Existing(5.0, STAMP - 3600, "<p>old</p>")}
    data = fresh_worksheet([("1", "A", Grade(7, 14, "new"))], modified=WHEN)
    imported = import_worksheet(data, {1}, 14, existing=existing)
    assert (imported.grades, imported.comments) == ({1: 7.0}, {1: "new"})


def test_an_empty_last_modified_would_make_moodle_skip_everyone_already_graded() -> None:
    existing = {1: Existing(5.0, STAMP - 3600)}
    data = fresh_worksheet([("1", "A", Grade(7, 14, "new"))], modified=WHEN)
    emptied = data.replace(b"2025-03-14T10:15:00+00:00", b"")
    assert import_worksheet(emptied, {1}, 14, existing=existing).grades == {}
    assert import_worksheet(data, {1}, 14, existing=existing).grades == {1: 7.0}


def test_rows_changed_in_moodle_after_the_worksheet_are_skipped_unless_the_tutor_says_so() -> None:
    existing = {1: Existing(5.0, STAMP + 3600)}
    data = fresh_worksheet([("1", "A", Grade(7, 14, "new"))], modified=WHEN)
    assert import_worksheet(data, {1}, 14, existing=existing).grades == {}
    assert import_worksheet(data, {1}, 14, existing=existing, ignoremodified=True).grades == {1: 7.0}


def test_fresh_worksheet_stamps_now_by_default_and_refuses_a_time_without_zone() -> None:
    before = datetime.now(timezone.utc).replace(microsecond=0)
    stamp = load_csv_content(fresh_worksheet([("1", "A", Grade(1, 2, ""))]))[1][4]
    assert stamp is not None and before <= datetime.fromisoformat(stamp) <= before + timedelta(minutes=1)
    with pytest.raises(ValueError):
        fresh_worksheet([], modified=datetime(2025, 1, 1))


@given(st.lists(st.tuples(st.integers(1, 10**6).map(str), st.text(), st.text()), max_size=5, unique_by=lambda r: r[0]))
def test_any_names_and_feedback_give_a_file_moodle_reads_row_for_row(rows: list[tuple[str, str, str]]) -> None:
    data = fresh_worksheet([(id, name, Grade(1, 2, text)) for id, name, text in rows], modified=WHEN)
    read = load_csv_content(data)
    assert [r[0] for r in read[1:]] == [f"Participant {id}" for id, _, _ in rows]
    imported = import_worksheet(data, {int(id) for id, _, _ in rows}, 2)
    assert {n: shown(c) for n, c in imported.comments.items()} == {
        int(id): written(text) for id, _, text in rows if written(text)}


def test_a_cell_ending_in_a_backslash_would_lose_the_next_row_to_moodles_double_reading() -> None:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows([["Identifier", "Full name"], ["Participant 1", "Jo \\"],
                                                   ["Participant 2", "Bo"]])
    naive = load_csv_content(out.getvalue().encode())
    assert [row[0] for row in naive] == ["Identifier", "Participant 1"]  # participant 2 swallowed
    quoted = load_csv_content(out.getvalue().replace("Jo \\", '"Jo \\"').encode())
    assert [row[0] for row in quoted] == ["Identifier", "Participant 1"]
    good = fresh_worksheet([("1", "Jo \\", Grade(1, 2, "")), ("2", "Bo", Grade(1, 2, ""))], modified=WHEN)
    assert len(load_csv_content(good)) == 3


# -- Worksheet: a German download ----------------------------------------------------------------------

def test_participants_are_read_from_a_german_worksheet_in_order(tmp_path: Path) -> None:
    assert Worksheet.read(sheet(tmp_path, GERMAN_SHEET)).participants() == ["123456", "123457", "123458"]


def test_filled_changes_only_the_grade_and_feedback_cells_of_graded_rows(tmp_path: Path) -> None:
    original = GERMAN_SHEET.encode("utf-8")
    filled = Worksheet.read(sheet(tmp_path, original)).filled({"123456": Grade(11.5, 14, TRICKY)})
    expected = original.replace(
        "Teilnehmer/in123456,Zoë O'Brien,zoe@example.org,Zur Bewertung abgegeben,,\"14,00\",Ja,"
        "\"Freitag, 14. März 2025, 10:15\",-,\r\n".encode(),
        ("Teilnehmer/in123456,Zoë O'Brien,zoe@example.org,Zur Bewertung abgegeben,11.5,\"14,00\",Ja,"
         "\"Freitag, 14. März 2025, 10:15\",-,\"Gut, aber &quot;hs[t]&quot; falsch;<br>\r\nZeile 2 – äöü ß, "
         "C:&#92;Temp&#92; &amp; &lt;b&gt; &#92;\"\r\n").encode())
    assert expected != original
    assert filled == expected


def test_filled_german_worksheet_imports_with_german_headers(tmp_path: Path) -> None:
    worksheet = Worksheet.read(sheet(tmp_path, GERMAN_SHEET))
    filled = worksheet.filled({"123456": Grade(11.5, 14, TRICKY), "999": Grade(1, 14, "not in the sheet")})
    existing = {123457: Existing(7.5, STAMP, "<p>Schon \"gut\"</p>")}
    imported = import_worksheet(filled, GERMAN_PARTICIPANTS, 14, GERMAN, existing=existing)
    assert imported.grades == {123456: 11.5}
    assert {n: shown(c) for n, c in imported.comments.items()} == {123456: TRICKY}


def test_german_dates_make_moodle_skip_graded_rows_unless_told_to_ignore_them(tmp_path: Path) -> None:
    filled = Worksheet.read(sheet(tmp_path, GERMAN_SHEET)).filled({"123457": Grade(9, 14, "besser")})
    existing = {123457: Existing(7.5, STAMP - 86400, "<p>Schon \"gut\"</p>")}
    assert import_worksheet(filled, GERMAN_PARTICIPANTS, 14, GERMAN, existing=existing).grades == {}
    again = import_worksheet(filled, GERMAN_PARTICIPANTS, 14, GERMAN, existing=existing, ignoremodified=True)
    assert (again.grades, again.comments) == ({123457: 9.0}, {123457: "besser"})


def test_filled_with_nothing_to_fill_returns_the_download_byte_for_byte(tmp_path: Path) -> None:
    for text in (GERMAN_SHEET, ENGLISH_SHEET):
        data = text.encode("utf-8")
        assert Worksheet.read(sheet(tmp_path, data)).filled({}) == data


def test_an_empty_feedback_leaves_the_comment_cell_as_downloaded(tmp_path: Path) -> None:
    filled = Worksheet.read(sheet(tmp_path, GERMAN_SHEET)).filled({"123457": Grade(8, 14, "")})
    assert lines(filled)[2].endswith(',"<p>Schon ""gut""</p>"')
    assert ',8,"14,00"' in lines(filled)[2]


@given(st.text(min_size=1))
def test_any_feedback_round_trips_through_moodles_reading(tmp_path_factory: pytest.TempPathFactory,
                                                          text: str) -> None:
    path = sheet(tmp_path_factory.mktemp("sheet"), ENGLISH_SHEET)
    filled = Worksheet.read(path).filled({"12": Grade(13, 14, text)})
    imported = import_worksheet(filled, {11, 12}, 14)
    assert imported.grades == {12: 13.0}
    assert {n: shown(c) for n, c in imported.comments.items()} == ({12: written(text)} if written(text) else {})


def test_a_semicolon_worksheet_stays_semicolon_separated(tmp_path: Path) -> None:
    text = ENGLISH_SHEET.replace(",", ";").replace('"Friday; 14 March 2025; 10:15 AM"', "-")
    filled = Worksheet.read(sheet(tmp_path, text)).filled({"11": Grade(2.25, 14, "a; b, c")})
    assert filled.decode().split("\n")[1] == 'Participant 11;Jane Doe;jane@example.org;Submitted for grading;2.25;' \
                                             '14.00;Yes;-;;-;"a; b, c"'
    assert import_worksheet(filled, {11, 12}, 14, delimiter_name="semicolon").grades == {11: 2.25}


# Headers as the 3.x language packs write them (projectestac/moodle-langpacks <lang>/assign.php, moodle.php,
# assignfeedback_comments.php); decsep "," for all is not looked up: a decimal point reads the same with it.
LANGUAGES = {
    "fr": Strings("Note", "Identifiant", "Dernière modification (note)", "Participant", "Feedback par commentaires",
                  ","),
    "es": Strings("Calificación", "Identificador", "Última modificación (calificación)", "Participante",
                  "Comentarios de retroalimentación", ","),
    "it": Strings("Valutazione", "Identificativo", "Ultima modifica (valutazione)", "Partecipante", "Commenti", ","),
    "nl": Strings("Cijfer", "Identificatie", "Laatst gewijzigd (beoordeling)", "Deelnemer", "Feedback", ","),
    "pt": Strings("Avaliação", "Número de identificação", "Última atualização (avaliação)", "Participante",
                  "Comentários de feedback", ","),
    "de": GERMAN,
    "en": ENGLISH,
}


@pytest.mark.parametrize("language", sorted(LANGUAGES))
def test_worksheets_in_each_language_are_filled_where_moodle_reads(tmp_path: Path, language: str) -> None:
    s = LANGUAGES[language]
    text = (f"{s.comments},{s.recordid},Name,{s.grade},{s.lastmodifiedgrade}\r\n"
            f"x,{s.hiddenuser}31,A,,-\r\nx,{s.hiddenuser}32,B,,-\r\n")
    worksheet = Worksheet.read(sheet(tmp_path, text))
    assert worksheet.participants() == ["31", "32"]
    imported = import_worksheet(worksheet.filled({"32": Grade(4.5, 14, "gut")}), {31, 32}, 14, s)
    # The comments column comes first here, and the importer never reads a column at index 0.
    assert (imported.grades, imported.comments) == ({32: 4.5}, {})


def test_the_last_of_two_equal_headers_is_the_one_filled_as_in_moodle(tmp_path: Path) -> None:
    text = "Identifier,Grade,Grade,Last modified (grade)\nParticipant 3,,,-\n"
    filled = Worksheet.read(sheet(tmp_path, text)).filled({"3": Grade(1, 2, "")})
    assert filled.decode().split("\n")[1] == "Participant 3,,1,-"
    assert import_worksheet(filled, {3}, 2).grades == {3: 1.0}


# -- Worksheet: files that are not worksheets --------------------------------------------------------

def test_a_file_without_worksheet_headers_is_refused_naming_it_and_its_headers(tmp_path: Path) -> None:
    path = sheet(tmp_path, "name,score\nJane,3\n", "marks.csv")
    with pytest.raises(MoodleError) as caught:
        Worksheet.read(path)
    assert str(path) in str(caught.value) and "'name', 'score'" in str(caught.value)
    assert isinstance(caught.value, UsageError)


@pytest.mark.parametrize("data, words", [
    (b"", "headers found: none"),
    ("Identifier,Grade,Last modified (grade)\n".encode("utf-16"), "not UTF-8"),
    ("Identifier,Grade\nParticipant 1,3\n".encode(), "'Identifier', 'Grade'"),
    ("Identifier,Grade,Last modified (grade)\nParticipant 1,3\nParticipant 2,,-\n".encode(), "line 2: 2 cells"),
])
def test_files_moodle_would_refuse_are_refused_with_the_reason(tmp_path: Path, data: bytes, words: str) -> None:
    with pytest.raises(MoodleError, match="worksheet.csv") as caught:
        Worksheet.read(sheet(tmp_path, data))
    assert words in str(caught.value)


def test_moodle_too_refuses_rows_of_another_width() -> None:
    with pytest.raises(CsvRefused, match="csvweirdcolumns"):
        load_csv_content(b"Identifier,Grade,Last modified (grade)\nParticipant 1,3\n")


def test_a_missing_file_is_a_moodle_error_naming_it(tmp_path: Path) -> None:
    with pytest.raises(MoodleError, match="nowhere.csv"):
        Worksheet.read(tmp_path / "nowhere.csv")


def test_feedback_without_a_comments_column_is_refused_but_grades_are_written(tmp_path: Path) -> None:
    text = "Identifier,Grade,Last modified (grade)\nParticipant 1,,-\n"
    worksheet = Worksheet.read(sheet(tmp_path, text))
    assert worksheet.filled({"1": Grade(2, 2, "")}).decode().split("\n")[1] == "Participant 1,2,-"
    with pytest.raises(MoodleError, match="Feedback comments"):
        worksheet.filled({"1": Grade(2, 2, "well done")})


def test_a_grade_moodle_would_skip_as_out_of_range_is_refused_with_its_line(tmp_path: Path) -> None:
    worksheet = Worksheet.read(sheet(tmp_path, GERMAN_SHEET))
    with pytest.raises(MoodleError, match=r"line 3: grade 15 is outside 0\.\.14,00"):
        worksheet.filled({"123457": Grade(15, 14, "")})


def test_a_grade_is_scaled_to_moodle_s_maximum_when_the_assignment_s_differs_from_the_rubric_s(
        tmp_path: Path) -> None:
    worksheet = Worksheet.read(sheet(tmp_path, GERMAN_SHEET))  # Moodle's maximum there: 14,00
    filled = worksheet.filled({"123457": Grade(3.5, 7, "")}).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(filled)))
    assert (rows[2][0], rows[2][4]) == ("Teilnehmer/in123457", "7")  # 3.5 of 7 is 7 of 14


def test_the_php_csv_port_reads_what_php_reads() -> None:
    assert fgetcsv_all('a,"b ""c""",d\n') == [["a", 'b "c"', "d"]]
    assert fgetcsv_all('"a\\"b",c\n') == [['a\\"b', "c"]]  # the escape keeps the quote, and itself
    assert fgetcsv_all('x,"two\nlines",y\n\n z , "q"tail ,w') == [["x", "two\nlines", "y"], [None],
                                                                   [" z ", "qtail ", "w"]]
