from pathlib import Path


def _mt_reports() -> Path:
    """The shared real MetaTrader reports: ``../shared/data/mt-reports`` beside the
    checkout (read in place, never copied), wherever the checkout lives."""
    for root in Path(__file__).resolve().parents:
        candidate = root / "shared" / "data" / "mt-reports"
        if candidate.is_dir():
            return candidate
    return Path("/work/shared/data/mt-reports")


MT_REPORTS = _mt_reports()
