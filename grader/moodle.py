"""Moodle's file formats: submission zip names, the grading worksheet, feedback zip names.

Every rule below was read in Moodle's own source (repository moodle/moodle unless said otherwise):

- mod/assign/locallib.php, assign::download_submissions: zip entry names;
- lib/moodlelib.php, clean_param(PARAM_FILE) behind clean_filename, and unformat_float;
- mod/assign/feedback/file/importziplib.php, is_valid_filename_for_import: feedback zip names;
- lib/filestorage/zip_archive.php, init_namelookup: how Moodle cleans names read from a zip;
- mod/assign/gradingtable.php: the worksheet's columns and cells;
- mod/assign/feedback/offline/importgradeslib.php and locallib.php: the worksheet importer;
- lib/csvlib.class.php, csv_import_reader::load_csv_content: how the worksheet is read (PHP fgetcsv);
- mod/assign/feedback/comments/locallib.php, set_editor_text: imported comments are stored as HTML;
- the language strings named in _LANGUAGES.
"""

from __future__ import annotations

import html
import math
import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Mapping, Sequence

from grader.errors import UsageError

BOM = b"\xef\xbb\xbf"


class MoodleError(UsageError):
    """A file that should come from Moodle is not one Moodle wrote or would accept."""


# -- "Download all submissions" zip ------------------------------------------------------------

@dataclass(frozen=True)
class EntryName:
    """The first path component of an entry of Moodle's "Download all submissions" zip."""

    name: str
    """Full name as Moodle wrote it ("Zoë OBrien": clean_filename drops apostrophes), "Participant" under blind
    marking, "<group>-<full name>" for team submissions (not split: names hold hyphens too)."""
    id: str
    """The participant number <N> ("123456"): the number after "Participant " in the worksheet."""
    plugin: str
    """"assignsubmission_file", "assignsubmission_onlinetext", ..."""
    file: str
    """Flat layout: the original file name after "<plugin>_"; "" for a folder entry."""


# download_submissions builds str_replace('_', ' ', name) . '_' . uniqueid . '_' . subtype . '_' . type, then '_'
# (Moodle < 4.1 folders, kept by importziplib's comment "fullname_userid_plugintype_pluginname_") or
# '_' . file name (flat layout); so the first "_" ends the name.
_ENTRY = re.compile(
    r"(?P<name>[^_]*)_(?P<id>[0-9]+)_(?P<plugin>assign(?:submission|feedback)_[a-z][a-z0-9]*)(?:_(?P<file>.*))?",
    re.DOTALL)


def parse_entry(component: str) -> EntryName | None:
    """The parts of a Moodle-named zip entry component, or None when Moodle did not name it."""
    match = _ENTRY.fullmatch(component)
    if match is None:
        return None
    return EntryName(match["name"], match["id"], match["plugin"], match["file"] or "")


# clean_param(PARAM_FILE): preg_replace('~[[:cntrl:]]|[&<>"`\|\':\\\\/]~u', '', $param); the zip reader applies
# it again to every name it reads (zip_archive.php init_namelookup, with NFC normalisation).
_NOT_IN_FILENAMES = re.compile(r"[\x00-\x1f\x7f-\x9f&<>\"`|':\\/]")


def _clean_filename(text: str) -> str:
    text = "".join(c for c in text if unicodedata.category(c) != "Cs")
    return _NOT_IN_FILENAMES.sub("", unicodedata.normalize("NFC", text))


def _require_id(id: str) -> None:
    if not (id.isascii() and id.isdigit()):
        raise ValueError(f"a Moodle participant number is decimal digits, got {id!r}")


def feedback_member(name: str, id: str, file: str = "feedback.html") -> str:
    """The zip member name that "Upload multiple feedback files in a zip" attaches to participant `id`.

    importziplib.php splits each path component at its first four "_" and takes the second piece as the
    participant number, so the name keeps no "_" (Moodle itself writes a space there); it is cleaned the way
    Moodle's download names are, and never starts with "." or "~", whose files the importer ignores.
    """
    _require_id(id)
    prefix = _clean_filename(name.replace("_", " ")).lstrip(".~ ") or "Participant"
    cleaned = _clean_filename(file)
    if cleaned in ("", ".", ".."):
        raise ValueError(f"not a file name Moodle keeps: {file!r}")
    return f"{prefix}_{id}_assignsubmission_file_{cleaned}"


def identifier(id: str) -> str:
    """The worksheet's Identifier cell: get_string('hiddenuser', 'assign') . uniqueid (gradingtable.php)."""
    _require_id(id)
    return f"Participant {id}"


# -- the offline grading worksheet -------------------------------------------------------------

@dataclass(frozen=True)
class Grade:
    """What one participant gets back in Moodle."""

    value: float
    maximum: float
    feedback: str
    """Plain text; written into "Feedback comments" as the HTML Moodle stores and shows."""


@dataclass(frozen=True)
class _Headers:
    """The importer's header strings in one language (importgradeslib.php init(); gradingtable.php)."""

    identifier: str  # get_string('recordid', 'assign')
    grade: str  # get_string('grade'), get_string('gradenoun') in recent importers
    modified: str  # get_string('lastmodifiedgrade', 'assign')
    feedback: str  # get_string('pluginname', 'assignfeedback_comments'), its get_editor_fields() description
    maximum: tuple[str, ...]  # get_string('maxgrade', 'assign'); only read to check grades against it


# English: moodle/moodle mod/assign/lang/en/assign.php, mod/assign/feedback/comments/lang/en/...; the others:
# projectestac/moodle-langpacks <lang>/assign.php, moodle.php, assignfeedback_comments.php (MOODLE_30..32
# branches). 'gradenoun' translations were not found there; they are taken to equal 'grade'. Whether English
# writes "Maximum Grade" or "Maximum grade" was not confirmed; both are taken.
_LANGUAGES: Mapping[str, _Headers] = {
    "en": _Headers("Identifier", "Grade", "Last modified (grade)", "Feedback comments",
                   ("Maximum Grade", "Maximum grade")),
    "de": _Headers("ID", "Bewertung", "Zuletzt geändert (Bewertung)", "Feedback als Kommentar", ("Bestwertung",)),
    "fr": _Headers("Identifiant", "Note", "Dernière modification (note)", "Feedback par commentaires",
                   ("Note maximale",)),
    "es": _Headers("Identificador", "Calificación", "Última modificación (calificación)",
                   "Comentarios de retroalimentación", ("Calificación máxima",)),
    "it": _Headers("Identificativo", "Valutazione", "Ultima modifica (valutazione)", "Commenti",
                   ("Valutazione massima",)),
    "nl": _Headers("Identificatie", "Cijfer", "Laatst gewijzigd (beoordeling)", "Feedback", ("Maximaal cijfer",)),
    "pt": _Headers("Número de identificação", "Avaliação", "Última atualização (avaliação)",
                   "Comentários de feedback", ("Nota Máxima",)),
}
FRESH_HEADERS = ("Identifier", "Full name", "Grade", "Maximum Grade", "Last modified (grade)", "Feedback comments")


@dataclass(frozen=True)
class _Cell:
    """A field's value and its span in the text, delimiters and line ends excluded."""

    start: int
    end: int
    value: str


@dataclass(frozen=True)
class _Columns:
    """Where the cells the importer reads (and the maximum grade) are."""

    identifier: int
    grade: int
    feedback: int | None
    maximum: int | None


def _last_index(header: Sequence[str], *texts: str) -> int | None:
    """The importer keeps the last column whose header equals the string (it overwrites in its loop)."""
    found = [i for i, cell in enumerate(header) if cell in texts]
    return found[-1] if found else None


def _columns(header: Sequence[str]) -> _Columns | None:
    for strings in _LANGUAGES.values():
        ident, grade = _last_index(header, strings.identifier), _last_index(header, strings.grade)
        if ident is not None and grade is not None and _last_index(header, strings.modified) is not None:
            return _Columns(ident, grade, _last_index(header, strings.feedback),
                            _last_index(header, *strings.maximum))
    return None


def _field(text: str, start: int, delimiter: str) -> tuple[str, int]:
    """One field from `start` as PHP's fgetcsv reads it (escape "\\"): its value and where it ends."""
    quote = start
    while quote < len(text) and text[quote] in " \t\v\f" and text[quote] != delimiter:
        quote += 1
    end = start
    parts: list[str] = []
    if quote < len(text) and text[quote] == '"':
        end = quote + 1
        while end < len(text):
            if text[end] == "\\":
                parts.append(text[end:end + 2])
                end += 2
            elif text.startswith('""', end):
                parts.append('"')
                end += 2
            elif text[end] == '"':
                end += 1
                break
            else:
                parts.append(text[end])
                end += 1
    tail = end
    while end < len(text) and text[end] not in (delimiter, "\r", "\n"):
        end += 1
    return "".join(parts) + text[tail:end], end


def _records(text: str, delimiter: str) -> list[tuple[_Cell, ...]]:
    """The non-blank records of a CSV text, each cell with its span."""
    records: list[tuple[_Cell, ...]] = []
    position = 0
    while position < len(text):
        cells = []
        while True:
            value, end = _field(text, position, delimiter)
            cells.append(_Cell(position, end, value))
            position = end + 1
            if end >= len(text) or text[end] != delimiter:
                break
        position += text.startswith("\r\n", end)
        if cells != [_Cell(cells[0].start, cells[0].start, "")]:
            records.append(tuple(cells))
    return records


def _line(text: str, offset: int) -> int:
    return len(re.findall(r"\r\n|\n|\r", text[:offset])) + 1


def _format_grade(value: float) -> str:
    """A decimal point (unformat_float reads one in every language) and at most 5 decimals: "11.5", "14"."""
    if not math.isfinite(value):
        raise ValueError(f"a grade is a finite number, got {value!r}")
    text = f"{round(value, 5):.5f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def _as_html(text: str) -> str:
    """Plain text as the HTML that Feedback comments hold (set_editor_text stores FORMAT_HTML).

    Quotes and backslashes become entities, so no cell we write holds PHP fgetcsv's escape character or a
    quote to escape: a backslash before a quote or at the end of a cell breaks Moodle's CSV reading. Control
    characters other than tab and newline are dropped: HTML shows none, and PostgreSQL refuses NUL.
    """
    text = _CONTROLS.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))
    return html.escape(text).replace("\\", "&#92;").replace("\n", "<br>\n")


_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_PHP_TRIM = " \t\n\r\0\x0b"
"""What PHP's trim() strips: csv_import_reader trims the whole file, so a cell must not end it with these."""


def _php_safe(text: str) -> str:
    """A space after a run of backslashes that ends the text or stands before a quote, which PHP's
    fgetcsv/fputcsv (escape "\\") would read as escaping the quote (csvlib.class.php reads each row twice)."""
    return re.sub(r'(\\+)(?="|\Z)', r"\1 ", text)


def _csv_field(text: str, delimiter: str) -> str:
    text = _php_safe(text)
    if any(c in text for c in (delimiter, '"', "\r", "\n")) or text != text.strip(_PHP_TRIM):
        return '"' + text.replace('"', '""') + '"'
    return text


class Worksheet:
    """A grading worksheet as the tutor downloaded it from Moodle, to fill in and give back."""

    def __init__(self, path: Path, data: bytes, text: str, delimiter: str,
                 records: list[tuple[_Cell, ...]], columns: _Columns) -> None:
        self._path, self._data, self._text, self._delimiter = path, data, text, delimiter
        self._header, self._rows, self._columns = records[0], records[1:], columns
        end = self._header[-1].end
        newline = re.match(r"\r\n|\n|\r", text[end:end + 2])
        self._newline = newline.group() if newline else "\n"

    @classmethod
    def read(cls, path: Path) -> Worksheet:
        """The worksheet at `path`; MoodleError naming the file when it is not one Moodle would import."""
        try:
            data = path.read_bytes()
        except OSError as error:
            raise MoodleError(f"{path}: cannot read the grading worksheet: {error.strerror}") from error
        try:
            text = data.removeprefix(BOM).decode("utf-8")
        except UnicodeDecodeError as error:
            raise MoodleError(f"{path}: not UTF-8 text (byte {error.start}); Moodle writes worksheets in "
                              "UTF-8: download it again, or save it as CSV UTF-8") from error
        delimiter, records, columns = _layout(path, text)
        _check_widths(path, text, records)
        return cls(path, data, text, delimiter, records, columns)

    def participants(self) -> list[str]:
        """The participant number <N> of every row, in file order (rows without one are left out)."""
        return [n for n in (self._number(row) for row in self._rows) if n is not None]

    def filled(self, grades: Mapping[str, Grade]) -> bytes:
        """The same file with the Grade and Feedback comments of the rows in `grades` filled in.

        Every other byte stays as downloaded: headers (in their language), columns, rows, other cells,
        BOM, line endings, delimiter. An empty feedback leaves its cell as downloaded; participants not in
        the worksheet are ignored (see participants()). "Last modified (grade)" is kept, so Moodle still skips
        a row whose grade was changed in Moodle after the download, unless the tutor ticks "Allow updating
        records that have been modified more recently in Moodle than in the spreadsheet". MoodleError when a
        grade is outside 0..the row's Maximum Grade, which Moodle would skip without a word.
        """
        edits: list[tuple[_Cell, str]] = []
        for row in self._rows:
            number = self._number(row)
            if number is not None and number in grades:
                edits += self._edits(row, grades[number])
        return self._spliced(edits)

    def _number(self, row: tuple[_Cell, ...]) -> str | None:
        # The importer strips strlen(get_string('hiddenuser', 'assign')) bytes: the number ends the cell.
        match = re.search(r"([0-9]+)\s*\Z", row[self._columns.identifier].value)
        return match.group(1) if match else None

    def _edits(self, row: tuple[_Cell, ...], grade: Grade) -> list[tuple[_Cell, str]]:
        edits = [(row[self._columns.grade], _format_grade(self._scaled(row, grade)))]
        feedback = _as_html(grade.feedback)
        if feedback:
            if self._columns.feedback is None:
                raise MoodleError(
                    f"{self._path}: no Feedback comments column to write feedback in (headers: "
                    f"{', '.join(c.value for c in self._header)}); turn on \"Feedback comments\" in the "
                    "assignment's settings and download the worksheet again")
            edits.append((row[self._columns.feedback], feedback))
        return edits

    def _scaled(self, row: tuple[_Cell, ...], grade: Grade) -> float:
        """The grade out of this row's Maximum Grade when Moodle's maximum differs from the rubric's (an
        assignment out of 100, a rubric out of 14); process_import_grades skips one outside 0..maximum."""
        maximum = self._maximum(row)
        if maximum is None or grade.maximum <= 0 or maximum == grade.maximum:
            value = grade.value
        else:
            value = grade.value / grade.maximum * maximum
        if maximum is not None and not 0 <= value <= maximum:
            cell = row[self._columns.maximum] if self._columns.maximum is not None else row[0]
            raise MoodleError(f"{self._path} line {_line(self._text, cell.start)}: grade {_format_grade(value)} "
                              f"is outside 0..{cell.value.strip()}, the maximum grade of this assignment in "
                              "Moodle, which would skip the row")
        return value

    def _maximum(self, row: tuple[_Cell, ...]) -> float | None:
        if self._columns.maximum is None:
            return None
        try:
            return float(row[self._columns.maximum].value.strip().replace(" ", "").replace(",", "."))
        except ValueError:
            return None

    def _spliced(self, edits: list[tuple[_Cell, str]]) -> bytes:
        pieces: list[str] = []
        position = 0
        for cell, value in sorted(edits, key=lambda edit: edit[0].start):
            field = _csv_field(value, self._delimiter).replace("\n", self._newline)
            pieces += [self._text[position:cell.start], field]
            position = cell.end
        pieces.append(self._text[position:])
        prefix = BOM if self._data.startswith(BOM) else b""
        return prefix + "".join(pieces).encode("utf-8")


def _layout(path: Path, text: str) -> tuple[str, list[tuple[_Cell, ...]], _Columns]:
    """The delimiter (the upload form offers comma, semicolon, colon, tab), records and columns."""
    for delimiter in (",", ";", "\t", ":"):
        records = _records(text, delimiter)
        columns = _columns([cell.value for cell in records[0]]) if records else None
        if columns is not None:
            return delimiter, records, columns
    found = [cell.value for cell in _records(text, ",")[0]] if text.strip() else []
    raise MoodleError(
        f"{path}: not a Moodle grading worksheet: the first row needs the headers Identifier, Grade and "
        f"Last modified (grade), in English or as Moodle writes them in {', '.join(list(_LANGUAGES)[1:])}; "
        f"headers found: {', '.join(repr(h) for h in found) or 'none'}")


def _check_widths(path: Path, text: str, records: list[tuple[_Cell, ...]]) -> None:
    """Moodle refuses the whole file when a row has another number of cells than the header (csvweirdcolumns)."""
    for record in records[1:]:
        if len(record) != len(records[0]):
            raise MoodleError(f"{path} line {_line(text, record[0].start)}: {len(record)} cells where the header has "
                              f"{len(records[0])}; Moodle refuses such a file")


def fresh_worksheet(rows: Sequence[tuple[str, str, Grade]], *, modified: datetime | None = None) -> bytes:
    """A new worksheet in English (UTF-8, comma separated) with one row per (id, full name, grade).

    Upload it to a Moodle whose interface is in English: the importer matches headers in the tutor's
    language. "Last modified (grade)" holds `modified` (default: now) in ISO 8601, which PHP's strtotime
    reads: an empty cell reads as time 0, and the importer then skips every participant who already has a
    grade record, feedback included (locallib.php process_import_grades: timemodified > modified + 60), so a
    second upload would silently change nothing. Moodle still skips rows changed in Moodle after `modified`.
    """
    when = modified or datetime.now(timezone.utc)
    if when.tzinfo is None:
        raise ValueError("modified needs a time zone: Moodle would read it in the server's")
    stamp = when.isoformat(timespec="seconds")
    lines = [FRESH_HEADERS] + [
        (identifier(id), name, _format_grade(grade.value), _format_grade(grade.maximum), stamp,
         _as_html(grade.feedback)) for id, name, grade in rows]
    return "".join(",".join(_csv_field(cell, ",") for cell in line) + "\n" for line in lines).encode("utf-8")
