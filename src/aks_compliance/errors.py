"""Errors about inputs. Each names the file and, where known, the place in it."""

from __future__ import annotations


class InputError(Exception):
    """Bad input: the message names the file and place; the scan reports it and goes on."""

    def __init__(self, message: str, file: str | None = None, line: int | None = None,
                 column: int | None = None, pointer: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.file = file
        self.line = line
        self.column = column
        self.pointer = pointer

    def where(self) -> str:
        parts = []
        if self.file:
            loc = self.file
            if self.line:
                loc += f":{self.line}"
                if self.column:
                    loc += f":{self.column}"
            parts.append(loc)
        if self.pointer:
            parts.append(f"at {self.pointer}")
        return " ".join(parts)

    def __str__(self) -> str:
        where = self.where()
        return f"{where}: {self.message}" if where else self.message


class ExpressionError(Exception):
    """An ARM template expression that cannot be parsed or evaluated (not merely unknown)."""

    def __init__(self, message: str, expression: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.expression = expression

    def __str__(self) -> str:
        if self.expression is not None:
            text = self.expression if len(self.expression) <= 200 else self.expression[:197] + "..."
            return f"{self.message} in expression {text}"
        return self.message


class EvaluationLimit(ExpressionError):
    """An expression stopped by a bound of this scan (work units, the size of a value, nesting), not by ARM:
    ARM may well evaluate it, so the resource is not rejected for it; what reads its value is unknown."""

    MARK = "(a limit of this scan, not of ARM)"

    def __str__(self) -> str:
        return f"{super().__str__()} {self.MARK}"
