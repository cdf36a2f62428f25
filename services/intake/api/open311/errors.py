"""How Open311 refuses: the spec's list of `{code, description}` (rendered by formats.py), with 403 for a
missing or bad key, 404 for an unknown id, code or jurisdiction, and 400 for everything else."""

from __future__ import annotations

from services.intake.domain.submission import Problem


class Open311Error(Exception):
    def __init__(self, status_code: int, *descriptions: str) -> None:
        super().__init__("; ".join(descriptions))
        self.status_code = status_code
        self.descriptions = list(descriptions)


# The native names of the fields GeoReport v2 calls otherwise.
OPEN311_NAMES = {"resident.name": "first_name", "resident.phone": "phone", "resident.email": "email"}


def open311_problem(problem: Problem) -> str:
    """A problem named the Open311 way: `attribute[<code>]` for an answer, `first_name` for the name."""
    name = f"attribute[{problem.attribute}]" if problem.attribute else OPEN311_NAMES.get(problem.field, problem.field)
    return f"{name}: {problem.message}"
