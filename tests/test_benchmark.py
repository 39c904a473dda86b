"""Keep the benchmark script working (a small N; no timing is asserted): every campaign type is
generated, settled and its figures compared with the reference recorded for that size."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_benchmark_runs_at_small_n(tmp_path):
    result = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench.py"), "--rows", "300", "--no-memory",
                             "--keep", str(tmp_path / "bench")], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split()[:6] == ["campaign", "rows", "engine", "floor", "s", "settle"]
    rows = [line.split() for line in lines[1:]]
    assert [(row[0], row[1]) for row in rows] == [("factory", "300"), ("prepaid", "300"), ("loyalty", "300")]
    assert all(row[-1] == "equal" for row in rows), result.stdout        # the figures of the reference run
    for kind in ("factory", "prepaid", "loyalty"):
        assert (tmp_path / "bench" / f"{kind}-300" / "out" / "summary.json").exists()
