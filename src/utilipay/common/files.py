"""Reporting problems in an input file by line, so an operator can fix and retry."""

from __future__ import annotations

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
