"""``proptrade bench report-stats [FILE ...]``: how long a user waits for one file.

Runs ``proptrade report-stats FILE`` as the user does — a new Python process each time,
so the interpreter's start, the imports, reading the report and computing its statistics
all count — ``--runs`` times per file (the shared real reports by default) and prints
one JSON line per file: its trades, the median, fastest and slowest wall time and the
median CPU time of the process, and the machine's 1-minute load average before and
after (on a shared machine the wall time follows it; the CPU time much less). Not a
test: figures to compare across commits on the same machine. The target is 1.5 s for a
report of about 2,000 trades.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

__all__ = ["add_arguments", "main", "time_report_stats"]

#: Where the shared real reports live, beside the checkout (read in place).
SHARED_REPORTS = Path("shared") / "data" / "mt-reports"
REPORT_SUFFIXES = (".html", ".htm", ".xlsx")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("files", metavar="FILE", type=Path, nargs="*",
                        help="reports to time (default: the shared real reports, "
                             "../shared/data/mt-reports)")
    parser.add_argument("--runs", type=int, default=5, help="runs per file (default 5)")


def shared_reports() -> list[Path]:
    """The shared real reports: ``shared/data/mt-reports`` in the working directory or a
    parent of it, or of this checkout."""
    for start in (Path.cwd(), Path(__file__).resolve()):
        for root in (start, *start.parents):
            folder = root / SHARED_REPORTS
            if folder.is_dir():
                return sorted(path for path in folder.iterdir()
                              if path.suffix.lower() in REPORT_SUFFIXES)
    return []


def time_report_stats(path: Path, runs: int) -> dict[str, object]:
    """``runs`` runs of ``proptrade report-stats path``: wall and CPU seconds."""
    walls: list[float] = []
    cpus: list[float] = []
    trades = None
    load_before = os.getloadavg()[0]
    for _ in range(runs):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "streams.cli", "report-stats", str(path)],
                              capture_output=True, text=True, check=False)
        walls.append(time.perf_counter() - started)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
        if done.returncode != 0:
            raise RuntimeError(f"{path.name}: {done.stderr.strip()}")
        trades = json.loads(done.stdout)["total_trades"]
    return {"file": path.name, "trades": trades, "runs": runs,
            "wall_s_median": round(statistics.median(walls), 3),
            "wall_s_min": round(min(walls), 3), "wall_s_max": round(max(walls), 3),
            "cpu_s_median": round(statistics.median(cpus), 3),
            "load_1m_before": round(load_before, 2),
            "load_1m_after": round(os.getloadavg()[0], 2)}


def main(args: argparse.Namespace) -> int:
    files = args.files or shared_reports()
    if not files:
        print("proptrade bench report-stats: error: no report given and no shared reports "
              f"found ({SHARED_REPORTS} beside the checkout)", file=sys.stderr)
        return 2
    if args.runs < 1:
        print("proptrade bench report-stats: error: --runs: at least 1", file=sys.stderr)
        return 2
    for path in files:
        try:
            figures = time_report_stats(path, args.runs)
        except RuntimeError as error:
            print(f"proptrade bench report-stats: error: {error}", file=sys.stderr)
            return 1
        print(json.dumps(figures), flush=True)
    return 0
