"""Check types, registered by name for rubrics: importing this package registers them all."""

from grader.checks import accuracy, arrays, calls, forbidden, modules, sections  # noqa: F401
from grader.checks.base import CheckType, Verdict, registry

__all__ = ["CheckType", "Verdict", "registry"]
