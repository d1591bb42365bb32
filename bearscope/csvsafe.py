"""CSV downloads that a spreadsheet opens as data: formula-like cells neutralised, rows streamed."""

import csv
from collections.abc import Iterable, Iterator

# What makes Excel, LibreOffice or Google Sheets read a cell as a formula (OWASP's list: = + - @,
# tab, carriage return), and the full-width forms some spreadsheets normalise to the same.
FORMULA_STARTS = frozenset("=+-@\t\r\uff1d\uff0b\uff0d\uff20")


def cell_safe(value) -> str | int | float:
    """A cell a spreadsheet shows as text: one leading quote when the value could start a formula.

    Numbers stay numbers (a negative number is data); text is checked after its leading spaces,
    since spreadsheets skip them before looking for a formula.
    """
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int | float):
        return value
    text = str(value)
    stripped = text.lstrip(" \u00a0\u3000\n")
    if text[:1] in FORMULA_STARTS or stripped[:1] in FORMULA_STARTS:
        return "'" + text
    return text


class _Echo:
    """A file that hands back what is written, so csv.writer can feed a streaming response."""

    def write(self, value: str) -> str:
        return value


def csv_lines(columns: list[str], rows: Iterable[Iterable]) -> Iterator[str]:
    """The CSV text, one line at a time, every cell through `cell_safe`."""
    writer = csv.writer(_Echo())
    yield writer.writerow([cell_safe(name) for name in columns])
    for row in rows:
        yield writer.writerow([cell_safe(value) for value in row])
