"""Keep the benchmark script working (a small N; no timing is asserted)."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_benchmark_runs_at_small_n(tmp_path):
    result = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench_settle.py"), "--rows", "300",
                             "--keep", str(tmp_path / "bench")], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    for label in ("read floor", "promo settle", "ratio", "peak RSS"):
        assert label in result.stdout
    assert (tmp_path / "bench" / "out" / "summary.json").exists()
