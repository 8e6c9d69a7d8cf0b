"""The history benchmark (bench/history.py) in its quickest mode, so it cannot rot: it runs
to the end on the shipped code and prints every figure. Its verdicts are not checked here:
the targets are judged on a full run by hand (docs/benchmarks.md), not on a loaded CI box."""

from __future__ import annotations

import re
import subprocess
import sys

from tests.helpers import REPO

NUMBER = r"[0-9][0-9,]*(?:\.[0-9]+)?"


def test_the_history_bench_runs_and_prints_its_figures():
    done = subprocess.run(
        [sys.executable, "-m", "bench.history", "--days", "1", "--quick"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    out = done.stdout
    assert done.returncode in (0, 1), out[-4000:] + done.stderr[-4000:]  # 1: a target missed
    assert "history bench on sqlite: 1 days × 6 series × 10 s = 51,840 samples" in out, out[-4000:]
    for figure in (
        rf"write samples/s, recorder vs bare executemany +{NUMBER} +{NUMBER} +{NUMBER}",
        rf"30-day query ms, 3 series ≤ 1000 points vs raw rows +{NUMBER} \[",
        rf"the same by GET /api/history \(HTTP\) +{NUMBER}",
        rf"database bytes per million samples written +{NUMBER}",
        rf"TCP ingest lines/s, 10 connections +{NUMBER} +{NUMBER} bare line answerer",
        r"tick lateness ms, ingest at full speed, worst +\S",
        rf"tick lateness ms, 10 × 50 lines/s \(.*\), worst +{NUMBER}",
    ):
        assert re.search(figure, out), (figure, out[-4000:])
    # what the bench checks besides the figures: every sample stored, nothing refused,
    # roll-up and retention complete, a clean server stop without a traceback
    assert not re.search(r"^problem:", out, re.MULTILINE), out[-4000:]
    assert "Traceback" not in done.stderr, done.stderr[-4000:]
