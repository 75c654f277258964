"""Moodle's side of the files the grader exchanges with it: a Python port, for the tests.

How Moodle names the entries of its submission zips, and how it reads the worksheets and feedback zips the
grader writes. Each function names the PHP it ports (repository moodle/moodle unless said otherwise) and
follows it step by step, quirks included, so that a file these functions accept is one Moodle accepts.
"""

from __future__ import annotations

import html
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Iterator, Mapping, Sequence

# -- PHP's own CSV functions (php-src ext/standard/file.c), as Moodle calls them: delimiter ",", enclosure
# '"', escape "\\" (the default) -------------------------------------------------------------------------

ESCAPE = "\\"
SPACES = " \t\n\r\v\f"  # C isspace()


def _line_end(line: str) -> int:
    """php_fgetcsv_lookup_trailing_spaces: where the line's "\\r\\n", "\\n" or "\\r" begins."""
    if line.endswith("\r\n"):
        return len(line) - 2
    if line.endswith(("\n", "\r")):
        return len(line) - 1
    return len(line)


def fgetcsv(lines: Iterator[str], first: str, delimiter: str = ",") -> list[str | None]:
    """php_fgetcsv: one record from `first` (a line with its "\\n"), reading more lines while a quote is open."""
    buf, limit = first, _line_end(first)
    position, fields = 0, list[str | None]()
    while True:
        skip = position
        while skip < len(buf) and buf[skip] != delimiter and buf[skip] in SPACES:
            skip += 1
        if skip < limit and buf[skip] == '"':
            position = skip
        if not fields and position == limit:
            return [None]  # a blank line
        if position < limit and buf[position] == '"':
            value, buf, limit, position = _enclosed(lines, buf, limit, position + 1, delimiter)
        else:
            end = position
            while end < limit and buf[end] != delimiter:
                end += 1
            value, position = buf[position:end], end
        fields.append(value)
        if position >= limit:
            return fields
        position += 1  # the delimiter


def _enclosed(lines: Iterator[str], buf: str, limit: int, position: int,
              delimiter: str) -> tuple[str, str, int, int]:
    """php_fgetcsv's "2A. handle enclosure delimited field": state 0 plain, 1 after the escape, 2 after a quote."""
    state, hunk, value = 0, position, ""
    while True:
        if position >= limit:
            if state == 2:
                value += buf[hunk:position - 1]
                break
            value += buf[hunk:position] + buf[limit:]  # the embedded line end joins the field
            following = next(lines, None)
            if following is None:  # an unterminated enclosure runs to the end of the data
                return value, buf, limit, limit
            buf, limit, position, hunk, state = following, _line_end(following), 0, 0, 0
            continue
        char = buf[position]
        if state == 1:
            state = 0
        elif state == 2:
            if char != '"':
                value += buf[hunk:position - 1]
                break
            value += buf[hunk:position]
            hunk, state = position + 1, 0
        elif char == '"':
            state = 2
        elif char == ESCAPE:
            state = 1
        position += 1
    end = position  # quit_loop_2: what follows the closing quote, up to the delimiter, is kept
    while end < limit and buf[end] != delimiter:
        end += 1
    return value + buf[position:end], buf, limit, end


def fgetcsv_all(content: str, delimiter: str = ",") -> list[list[str | None]]:
    """Every record of `content`, as `while ($row = fgetcsv($fp))` reads a file."""
    lines = iter(re.findall(r"[^\n]*\n|[^\n]+\Z", content))
    return [fgetcsv(lines, line, delimiter) for line in lines]


def fputcsv(fields: Sequence[str | None], delimiter: str = ",") -> str:
    """php_fputcsv: a quote is not doubled right after the escape character."""
    out = []
    for value in ("" if f is None else f for f in fields):
        if any(c in value for c in (delimiter, '"', ESCAPE, "\n", "\r", "\t", " ")):
            encoded, escaped = '"', False
            for char in value:
                if char == ESCAPE:
                    escaped = True
                elif not escaped and char == '"':
                    encoded += '"'
                else:
                    escaped = False
                encoded += char
            value = encoded + '"'
        out.append(value)
    return delimiter.join(out) + "\n"


# -- lib/csvlib.class.php ------------------------------------------------------------------------------

class CsvRefused(Exception):
    """csv_import_reader::load_csv_content returned false (get_error() names the lang string)."""


DELIMITERS = {"comma": ",", "semicolon": ";", "colon": ":", "tab": "\t"}  # csv_import_reader::get_delimiter


def load_csv_content(data: bytes, delimiter_name: str = "comma") -> list[list[str | None]]:
    """csv_import_reader::load_csv_content then get_columns()/next(): the header and rows the importer sees.

    core_text::convert from UTF-8 (the upload form's default), trim_utf8_bom, '!\\r\\n?!' -> "\\n", trim(),
    fgetcsv every record, drop blank lines, refuse rows of another width (csvweirdcolumns), then store the
    rows with fputcsv (csv_export_writer::print_array) and read them back with fgetcsv.
    """
    content = data.decode("utf-8").removeprefix("\ufeff")
    content = re.sub(r"\r\n?", "\n", content)
    content = content.strip(" \n\r\0\v" if delimiter_name == "tab" else " \t\n\r\0\v")
    rows = [r for r in fgetcsv_all(content, DELIMITERS[delimiter_name]) if r != [None]]
    if not rows:
        raise CsvRefused("csvemptyfile")
    if any(len(row) != len(rows[0]) for row in rows):
        raise CsvRefused("csvweirdcolumns")
    stored = "".join(fputcsv(row) for row in rows)
    return fgetcsv_all(stored)


# -- lib/moodlelib.php and PHP conversions --------------------------------------------------------------

_PHP_NUMBER = re.compile(r"[ \t\n\r\v\f]*[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


def php_float(text: str) -> float:
    """PHP's (float) cast of a string: its longest numeric prefix, else 0."""
    match = _PHP_NUMBER.match(text)
    return float(match.group()) if match else 0.0


def unformat_float(text: str, decsep: str) -> float | None:
    """lib/moodlelib.php unformat_float (not strict): trim, '' -> null, drop spaces, decsep -> '.', (float)."""
    text = text.strip(" \t\n\r\0\v")
    if text == "":
        return None
    return php_float(text.replace(" ", "").replace(decsep, "."))


def strtotime(text: str) -> int | None:
    """The part of PHP's strtotime the tests need; None is PHP's false.

    ISO 8601 with an offset, "@<seconds>", and English userdate() cells ("Friday, 14 March 2025, 10:15 AM",
    read as UTC here) parse; "" and "-" (a row never graded) and localised dates such as German's
    "Freitag, 14. März 2025, 10:15" do not, as in PHP.
    """
    text = text.strip()
    if re.fullmatch(r"@-?[0-9]+", text):
        return int(text[1:])
    for form in ("%Y-%m-%dT%H:%M:%S%z", "%A, %d %B %Y, %I:%M %p"):
        try:
            moment = datetime.strptime(text, form)
        except ValueError:
            continue
        return int(moment.replace(tzinfo=moment.tzinfo or timezone.utc).timestamp())
    return None


# -- mod/assign/feedback/offline: the worksheet importer ----------------------------------------------

@dataclass(frozen=True)
class Strings:
    """The language strings the importer compares with (importgradeslib.php init() and next())."""

    grade: str  # get_string('gradenoun'), lang/en/moodle.php ('grade' before)
    recordid: str  # get_string('recordid', 'assign')
    lastmodifiedgrade: str  # get_string('lastmodifiedgrade', 'assign')
    hiddenuser: str  # get_string('hiddenuser', 'assign'), stripped from the Identifier by byte count
    comments: str  # get_editor_fields() of assignfeedback_comments: its 'pluginname'
    decsep: str  # get_string('decsep', 'langconfig'), for unformat_float


ENGLISH = Strings("Grade", "Identifier", "Last modified (grade)", "Participant ", "Feedback comments", ".")
# projectestac/moodle-langpacks de/assign.php, de/moodle.php, de/assignfeedback_comments.php, de/langconfig.php
GERMAN = Strings("Bewertung", "ID", "Zuletzt geändert (Bewertung)", "Teilnehmer/in", "Feedback als Kommentar",
                 ",")


@dataclass(frozen=True)
class Existing:
    """A participant's grade record in Moodle before the upload (assign::get_user_grade($userid, false))."""

    grade: float | None
    timemodified: int
    comments: str = ""


@dataclass
class Imported:
    """What process_import_grades changed: grades and feedback comments by participant number."""

    grades: dict[int, float] = field(default_factory=dict)
    comments: dict[int, str] = field(default_factory=dict)


class ImportRefused(Exception):
    """print_error('invalidgradeimport', 'assignfeedback_offline'): a required column is missing."""


def _index(header: Sequence[str | None], text: str) -> int:
    """init(): the loop over the columns keeps the last index whose header equals the string."""
    found = [i for i, column in enumerate(header) if column == text]
    return found[-1] if found else -1


def _participant(idstr: str, strings: Strings, participants: set[int]) -> int | None:
    """next(): substr($idstr, strlen(hiddenuser)) then get_user_id_for_uniqueid(), a record lookup by id.

    The lookup is ported as "the rest is a decimal number of a participant" (databases differ on junk).
    """
    rest = idstr.encode("utf-8")[len(strings.hiddenuser.encode("utf-8")):].decode("utf-8", "replace")
    if re.fullmatch(r"[0-9]+", rest) and int(rest) in participants:
        return int(rest)
    return None


def import_worksheet(data: bytes, participants: set[int], maxgrade: float, strings: Strings = ENGLISH, *,
                     existing: Mapping[int, Existing] | None = None, ignoremodified: bool = False,
                     delimiter_name: str = "comma") -> Imported:
    """assign_feedback_offline::process_import_grades with assignfeedback_offline_grade_importer, for a
    numeric grade (no scale), the comments feedback plugin on, no locked grades."""
    rows = load_csv_content(data, delimiter_name)
    header, records = rows[0], rows[1:]
    idindex, gradeindex = _index(header, strings.recordid), _index(header, strings.grade)
    modifiedindex, commentsindex = _index(header, strings.lastmodifiedgrade), _index(header, strings.comments)
    if idindex < 0 or gradeindex < 0 or modifiedindex < 0:
        raise ImportRefused("invalidgradeimport")
    result, existing = Imported(), existing or {}
    for record in records:
        user = _participant(record[idindex] or "", strings, participants)
        if user is None:
            continue
        modified = strtotime(record[modifiedindex] or "") or 0  # strtotime() false + 60 is 60
        usergrade = existing.get(user)
        stale = usergrade is not None and usergrade.timemodified > modified + 60
        grade = unformat_float(record[gradeindex] or "", strings.decsep)
        if not _skipped(grade, usergrade, stale and not ignoremodified, maxgrade):
            assert grade is not None
            result.grades[user] = grade
        # `if (!empty($details['index']))`: a comments column at index 0 is never read.
        if (ignoremodified or not stale) and commentsindex > 0:
            new, old = record[commentsindex] or "", usergrade.comments if usergrade else ""
            if not _loosely_equal(new, old):
                result.comments[user] = new
    return result


def _loosely_equal(a: str | float | None, b: str | float | None) -> bool:
    """PHP 8's ==: null against a value compares truthiness; numeric strings compare as numbers."""
    if a is None or b is None:
        return bool(a) == bool(b)
    if isinstance(a, str) and isinstance(b, str) and not (_is_numeric(a) and _is_numeric(b)):
        return a == b
    return php_float(str(a)) == php_float(str(b))


def _skipped(grade: float | None, usergrade: Existing | None, stale: bool, maxgrade: float) -> bool:
    """process_import_grades' chain of skips, in its order."""
    if usergrade is not None and _loosely_equal(usergrade.grade, grade):
        return True  # grade not modified
    if grade is None or grade < 0:
        return True  # grade has no value
    if stale:
        return True  # grade has been modified in Moodle after the worksheet's "Last modified (grade)"
    return maxgrade > -1 and not 0 <= grade <= maxgrade  # out of range


def shown(comments: str) -> str:
    """The text a student reads of a comment stored as FORMAT_HTML (not Moodle code: the tests' reading)."""
    return html.unescape(re.sub(r"<br>\n?", "\n", comments))


# -- mod/assign/locallib.php download_submissions: the names the grader reads ------------------------

_PARAM_FILE = re.compile(r"[\x00-\x1f\x7f-\x9f&<>\"`|':\\/]")


def clean_filename(text: str) -> str:
    """lib/moodlelib.php clean_filename = clean_param(PARAM_FILE) (PHP's [[:cntrl:]] under /u taken as the
    C0 and C1 controls)."""
    text = _PARAM_FILE.sub("", text)
    return "" if text in (".", "..") else text


def download_entry(fullname: str, uniqueid: int, plugin: str = "assignsubmission_file",
                   filename: str | None = None, *, before_4_1: bool = False) -> str:
    """The first path component download_submissions gives a participant's files.

    $prefix = clean_filename(str_replace('_', ' ', $fullname) . '_' . uniqueid); folders are
    clean_filename($prefix . '_' . subtype . '_' . type . '_'), whose last "_" Moodle 4.1 dropped
    (importziplib.php's comment); with folders off, each file is clean_filename($prefix . ... '_' . $filename).
    """
    prefix = clean_filename(fullname.replace("_", " ") + "_" + str(uniqueid))
    if filename is not None:
        return clean_filename(f"{prefix}_{plugin}_{filename}")
    return clean_filename(f"{prefix}_{plugin}" + ("_" if before_4_1 else ""))


# -- mod/assign/feedback/file/importziplib.php --------------------------------------------------------

PLUGINS = {("assignsubmission", "file"), ("assignsubmission", "onlinetext"), ("assignsubmission", "comments"),
           ("assignfeedback", "comments"), ("assignfeedback", "file"), ("assignfeedback", "editpdf"),
           ("assignfeedback", "offline")}
"""The standard assign plugins, for assign::get_plugin_by_type()."""

def zip_name(name: str) -> str:
    """lib/filestorage/zip_archive.php init_namelookup: "\\" -> "/", clean_param(PARAM_PATH), ltrim "/", NFC.

    PARAM_PATH cleans each "/"-separated part with PARAM_FILE (lib/moodlelib.php clean_param): PHP's
    [[:cntrl:]] under /u is taken as the C0 and C1 controls.
    """
    parts = []
    for index, part in enumerate(name.replace("\\", "/").split("/")):
        if not (part == "." and index == 0):
            part = clean_filename(part)
        parts.append(part)
    cleaned = re.sub(r"/(\./)+", "/", re.sub(r"//+", "/", "/".join(parts)))
    return unicodedata.normalize("NFC", cleaned.lstrip("/"))


@dataclass(frozen=True)
class FeedbackFile:
    """What is_valid_filename_for_import sets by reference: the user, the plugin and the file name."""

    participant: int
    plugin: tuple[str, str]
    filename: str


def is_valid_filename_for_import(member: str, participants: set[int]) -> FeedbackFile | None:
    """assignfeedback_file_zip_importer::is_valid_filename_for_import for a zip member extracted under
    "/import/" (extract_files_from_zip's pathbase), its name cleaned as the zip reader does."""
    if member.endswith("/"):
        return None  # a directory
    path = "/import/" + zip_name(member)
    if path.rsplit("/", 1)[1].startswith((".", "~")):
        return None  # hidden files are ignored
    pathparts = path.split("/")
    while pathparts:
        info = pathparts.pop(0).split("_", 4)
        if len(info) < 4 or not _is_numeric(info[1]):
            continue
        participant = int(php_float(info[1]))
        if participant not in participants or (info[2], info[3]) not in PLUGINS:
            continue
        rest = info[4] if len(info) == 5 else ""
        return FeedbackFile(participant, (info[2], info[3]), "/".join([rest, *pathparts]))
    return None


def _is_numeric(text: str) -> bool:
    """PHP 8 is_numeric(): optional surrounding whitespace, sign, decimal or exponent."""
    return re.fullmatch(r"[ \t\n\r\v\f]*[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?[ \t\n\r\v\f]*",
                        text) is not None
