"""bench/run.sh keeps working: its report (medians, ratios, verdicts), its
command line, and one cheap scenario end to end against the real broker.
Nothing here asserts a speed: only that figures are produced, are numbers
where they are measured, and say "unavailable" where a tool is missing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
RUN_SH = REPO_ROOT / "bench" / "run.sh"
REPORT = REPO_ROOT / "bench" / "lib" / "report.py"


def test_report_medians_ratios_and_verdicts(tmp_path: Path) -> None:
    rows = [
        # key side round value unit better base_key target label
        ("loop", "base", "0", "1000", "MB/s", "higher", "", "", "loopback"),
        ("x.mbs", "new", "1", "700", "MB/s", "higher", "loop", ">=0.6", "x"),
        ("x.mbs", "new", "2", "500", "MB/s", "higher", "loop", ">=0.6", "x"),
        ("x.mbs", "new", "3", "650", "MB/s", "higher", "loop", ">=0.6", "x"),
        ("x.mbs", "old", "1", "400", "MB/s", "higher", "loop", ">=0.6", "x"),
        ("x.mbs", "old", "2", "300", "MB/s", "higher", "loop", ">=0.6", "x"),
        ("x.p99", "new", "1", "4", "ms", "lower", "", "<=1", "p99"),
        ("x.p99", "old", "1", "8", "ms", "lower", "", "<=1", "p99"),
        ("x.rps", "new", "1", "300", "records/s", "higher", "", "ab>=1.5", "rps"),
        ("x.rps", "old", "1", "100", "records/s", "higher", "", "ab>=1.5", "rps"),
        ("y.mbs", "new", "0", "unavailable: samsa-loadgen not built", "-", "-", "", "", "y"),
    ]
    figs = tmp_path / "f.tsv"
    figs.write_text("".join("\t".join(r) + "\n" for r in rows))
    (tmp_path / "notes").write_text("a note\n")
    (tmp_path / "meta.json").write_text(json.dumps({"baseline_rev": "main~1", "rounds": 3}))
    out = tmp_path / "out.json"
    res = subprocess.run([sys.executable, REPORT, figs, tmp_path / "notes", out, tmp_path / "meta.json"],
                         capture_output=True, text=True, timeout=30)
    assert res.returncode == 0, res.stderr
    assert "note: a note" in res.stdout
    f = {x["key"]: x for x in json.loads(out.read_text())["figures"]}
    assert f["x.mbs"]["value"] == 650 and f["x.mbs"]["old"] == 350  # medians
    assert abs(f["x.mbs"]["ratio"] - 0.65) < 1e-9 and abs(f["x.mbs"]["old_ratio"] - 0.35) < 1e-9
    assert abs(f["x.mbs"]["new_over_old"] - 650 / 350) < 1e-9
    assert f["x.mbs"]["verdict"] == "met"
    assert f["x.p99"]["verdict"] == "not met" and f["x.p99"]["new_over_old"] == 0.5
    assert f["x.rps"]["verdict"] == "met"  # new/old = 3 >= 1.5
    assert f["y.mbs"]["value"] == "unavailable: samsa-loadgen not built" and f["y.mbs"]["verdict"] == "-"


def test_runsh_rejects_unknown_scenario() -> None:
    res = subprocess.run([RUN_SH, "--scenarios", "no-such-scenario"], capture_output=True, text=True,
                         timeout=30)
    assert res.returncode == 2
    assert "unknown scenario 'no-such-scenario'" in res.stderr


def test_runsh_quick_scenario_against_samsa(tmp_path: Path) -> None:
    """rdkafka-consume-100b measured on the real broker (a few seconds), and
    durable reported as unavailable, not faked, without samsa-loadgen."""
    env = dict(os.environ, BENCH_TMPDIR=str(tmp_path), SAMSA_LOADGEN=str(tmp_path / "no-loadgen"))
    out = tmp_path / "out.json"
    res = subprocess.run([RUN_SH, "--quick", "--broker-only", "--scenarios", "rdkafka-consume-100b,durable",
                          "--json", out], capture_output=True, text=True, timeout=240, env=env)
    assert res.returncode == 0, res.stdout + res.stderr
    doc = json.loads(out.read_text())
    f = {x["key"]: x for x in doc["figures"]}
    assert isinstance(f["rdkafka-consume-100b.rps"]["value"], float), res.stdout + res.stderr
    assert f["rdkafka-consume-100b.rps"]["value"] > 0
    assert f["durable.mbs"]["value"] == "unavailable: samsa-loadgen not built"
    assert not list(tmp_path.glob("samsa-bench.*")), "run.sh left its temp dir behind"
