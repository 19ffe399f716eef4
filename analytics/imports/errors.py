"""The one exception a caller of :func:`analytics.imports.read_report` handles."""

from __future__ import annotations

from pathlib import Path

__all__ = ["FormatProblem", "ReportError"]


class ReportError(ValueError):
    """A file that cannot be read as a MetaTrader report.

    ``str(error)`` is ``"<file name>: <reason>"``; the reason names what is missing or
    wrong (``not a MetaTrader report (no Deals/Positions table found)``, ``truncated: …``,
    ``labels in an unsupported language …``), so it can be shown to the user as it is.

    :param path: the file that was read.
    :param reason: what is wrong with it.
    """

    def __init__(self, path: Path | str, reason: str) -> None:
        self.path = Path(path)
        self.reason = reason
        super().__init__(f"{self.path.name}: {reason}")


class FormatProblem(Exception):
    """Raised inside the package where the path is not known; :func:`read_report` turns it
    into a :class:`ReportError` naming the file."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)
