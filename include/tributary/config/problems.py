"""A configuration problem: where it is (file, line, row, field) and what is wrong."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class Problem:
    file: str
    line: int | None
    section: str
    row: str
    field: str | None
    message: str

    def __str__(self) -> str:
        where = self.file + (f":{self.line}" if self.line else "")
        field = f" field '{self.field}'" if self.field else ""
        if self.section in ("file", "config"):
            return f"{where}:{field} {self.message}"
        return f"{where}: {self.section} row '{self.row}'{field}: {self.message}"

    def as_dict(self) -> dict[str, object]:
        return {
            "file": self.file,
            "line": self.line,
            "section": self.section,
            "row": self.row,
            "field": self.field,
            "message": self.message,
        }
