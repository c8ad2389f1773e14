"""Typed errors raised on bad input. Each names the field (or part) that is wrong."""


class SpreadwrightError(Exception):
    """Base of every error this project raises on purpose."""


class InvalidFieldError(SpreadwrightError, ValueError):
    """A value is out of its domain; `field` names it, `reason` says why."""

    def __init__(self, field: str, reason: str) -> None:
        self.field = field
        self.reason = reason
        super().__init__(f"{field}: {reason}")


class InvalidStructureError(InvalidFieldError):
    """Legs that do not form the structure they claim to be."""

    def __init__(self, structure: str, reason: str) -> None:
        super().__init__(structure, reason)
        self.structure = structure
