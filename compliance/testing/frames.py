"""Who wrote a row, told from the call stack: project code, a test, or a library (Django, factory_boy, pytest)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from types import FrameType

ROOT = str(Path(__file__).resolve().parents[2]) + "/"
APPS = ("portal", "partners", "consent", "delivery", "compliance")
APP_TESTING = ["compliance", "testing"]
PROJECT, TEST, OTHER = "project", "test", "other"


@dataclass(frozen=True)
class Where:
    """One frame of project code: file, line, qualified function name, module."""

    path: str
    line: int
    function: str
    module: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line} in {self.function}"

    @classmethod
    def of(cls, frame: FrameType) -> Where:
        """Return where `frame` is, its path relative to the repository (or to site-packages)."""
        return cls.at(frame.f_code.co_filename, frame.f_lineno, frame.f_code.co_qualname)

    @classmethod
    def at(cls, filename: str, line: int, function: str) -> Where:
        """Return the place `line` of `filename`, in `function`."""
        path = filename.removeprefix(ROOT).rpartition("site-packages/")[2]
        return cls(path, line, function, path.removesuffix(".py").replace("/", "."))


_kinds: dict[str, str] = {}


def file_kind(filename: str) -> str:
    """Return PROJECT, TEST or OTHER for a source file (cached; tests may pre-seed the cache)."""
    kind = _kinds.get(filename)
    if kind is None:
        kind = _kinds[filename] = _classify(filename)
    return kind


def _classify(filename: str) -> str:
    if not filename.startswith(ROOT):
        return OTHER
    parts = filename.removeprefix(ROOT).split("/")
    if parts[-1] == "conftest.py" or "tests" in parts:
        return TEST
    # Models (managers, model methods) are the data layer a test may call directly to set up rows,
    # whether in `models.py` or a `models/` package; migrations run before any test; this package is
    # the check's plumbing. A change counts as the project's when a caller above them is.
    if parts[0] not in APPS or parts[-1] == "models.py" or parts[1:2] == ["models"]:
        return OTHER
    if "migrations" in parts or parts[:2] == APP_TESTING:
        return OTHER
    return PROJECT


# Frames of the ORM, the signal dispatcher and this package say nothing about who wrote a row.
_PLUMBING = ("/django/db/", "/django/dispatch/", "/contextlib.py", str(Path(__file__).parent) + "/")


def writers(frame: FrameType | None) -> tuple[tuple[Where, ...], Where | None]:
    """Return the project frames (innermost first) up to the first test frame, and the innermost other one."""
    chain: list[Where] = []
    via: Where | None = None
    while frame is not None and len(chain) < 8:
        filename = frame.f_code.co_filename
        kind = file_kind(filename)
        if kind == TEST:
            break
        if kind == PROJECT:
            chain.append(Where.of(frame))
        elif via is None and not chain and not any(part in filename for part in _PLUMBING):
            via = Where.of(frame)
        frame = frame.f_back
    return tuple(chain), via


def opener(frame: FrameType | None) -> Where | None:
    """Return where project code opened an atomic block (`with` or decorator), or None for anyone else."""
    while frame is not None and frame.f_code.co_filename.endswith("/contextlib.py"):
        func = frame.f_locals.get("func")  # `@transaction.atomic`: the decorated function decides
        if func is not None and hasattr(func, "__code__"):
            code = func.__code__
            if file_kind(code.co_filename) != PROJECT:
                return None
            return Where.at(code.co_filename, code.co_firstlineno, code.co_qualname)
        frame = frame.f_back
    if frame is None or file_kind(frame.f_code.co_filename) != PROJECT:
        return None
    return Where.of(frame)
