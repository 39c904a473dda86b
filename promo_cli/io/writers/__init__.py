"""Writers of the settlement's outputs; ``write_outputs`` writes all of them atomically."""

from __future__ import annotations

import os
import time
from datetime import datetime
from pathlib import Path

from typing import TYPE_CHECKING

from promo_cli.parallel import collector_paused

if TYPE_CHECKING:
    from promo_cli.model import Settlement

# A detail table longer than this goes to a CSV file beside the workbook: an accountant filters
# such a list in Excel from the CSV, and a workbook of millions of styled rows opens slowly.
# (Here, not in sheet.py, so that the command line reads its default without the writers.)
DETAIL_ROWS_LIMIT = 50_000
WORKBOOKS = ("rebate_detail.xlsx", "budget.xlsx", "audit_report.xlsx")


@collector_paused()
def write_outputs(s: Settlement, out_dir: Path, lang: str, generated_at: datetime | None = None,
                  detail_rows: int | None = None, progress=None, detail_format: str = "csv") -> list[Path]:
    """Write every output into ``out_dir``; all appear together or none does.

    ``detail_rows``: detail tables longer than this go to CSV beside the workbook (None: the
    default limit; 0: always in the workbook), as ``detail_format`` (csv, or parquet). ``progress("writing", what=name)`` is told of each
    output written."""
    from promo_cli.io.atomic import Staging
    from promo_cli.io.writers.audit_report import write_audit_report
    from promo_cli.io.writers.budget import write_budget
    from promo_cli.io.writers.rebate_detail import write_rebate_detail
    from promo_cli.io.writers.summary_json import dumps, summary_dict
    generated_at = generated_at or datetime.now().replace(microsecond=0)
    if progress:
        progress("writing", total=len(WORKBOOKS) + 1)
    with Staging(out_dir) as staging:
        # the rebate detail, the longest to write, in a second process while this one writes the rest
        staging.beside(write_rebate_detail, s, staging.path(WORKBOOKS[0]), lang, generated_at, detail_rows=detail_rows,
                       detail_format=detail_format)
        for name, write in zip(WORKBOOKS[1:], (write_budget, write_audit_report)):
            write(s, staging.path(name), lang, generated_at, side=staging, detail_rows=detail_rows,
                  detail_format=detail_format)
            if progress:
                progress("writing", what=name)
        staging.path("summary.json").write_text(dumps(summary_dict(s, lang)), encoding="utf-8")
        if progress:
            progress("writing", what="summary.json")
        staging.finish()
        if progress:
            progress("writing", what=WORKBOOKS[0])
        _pause_for_tests()
        return staging.commit()


def _pause_for_tests() -> None:
    """Test hook: PROMO_PAUSE_BEFORE_COMMIT=SECONDS holds every output complete but not yet in
    place, so a test can kill the run at the worst moment and check nothing was half-done."""
    seconds = os.environ.get("PROMO_PAUSE_BEFORE_COMMIT")
    if seconds:
        time.sleep(float(seconds))
