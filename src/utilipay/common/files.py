"""Reporting problems in an input file by line, so an operator can fix and retry."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass

from utilipay.errors import DomainError, ErrorCode

MAX_REPORTED = 100  # the rest are counted: a file that bad needs a look, not a list


@dataclass(frozen=True, slots=True)
class LineError:
    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


class FileRejected(DomainError):
    """A file with bad lines; nothing of it was imported."""

    def __init__(self, source: str, errors: list[LineError]) -> None:
        shown = errors[:MAX_REPORTED]
        more = f"\n… and {len(errors) - len(shown)} more" if len(errors) > len(shown) else ""
        lines = "\n".join(str(e) for e in shown)
        super().__init__(
            ErrorCode.MALFORMED_REQUEST,
            f"{source}: {len(errors)} bad line(s), nothing imported\n{lines}{more}",
        )
        self.errors = errors


def csv_records(text: str, errors: list[LineError]) -> Iterator[tuple[int, list[str]]]:
    """(line number, fields); quoting broken for good ends the file (what follows cannot be
    told apart), its line added to ``errors``."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    while True:
        try:
            values = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            errors.append(LineError(reader.line_num, f"not CSV: {exc}"))
            return
        yield reader.line_num, values
