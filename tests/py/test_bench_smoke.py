# SPDX-License-Identifier: GPL-2.0-or-later
"""bench/run-harness-bench --quick: the table's shape, never its values.

The benchmark measures; nothing here compares a number with a threshold.
What is checked: it exits 0, prints the machine line, every row of the
table with numbers that parse (a rate may be n/a when the 2N runs were not
slower than the N runs on a noisy machine), ratios that are the quotient
of the two times shown, the per-round times, and it leaves no temporary
file behind.
"""
import os
import re
import subprocess

import pytest

ROWS = [
    ("cfg.read, core", "vfio.read CONFIG, raw"),
    ("vfio.read CONFIG, raw", "FUSE floor pread"),
    ("bar.read, core", "vfio.read BAR0, raw"),
    ("mem.read BAR0, core", "vfio.read BAR0, raw"),
    ("vfio.read BAR0, raw", "FUSE floor pread"),
    ("MSI-X irq+expect.msi, core", "device.irq MSI-X, raw"),
    ("MSI-X irq+step 0, core", "device.irq MSI-X, raw"),
]
for _s in ("p50", "max"):
    ROWS += [
        ("no-attach scenario " + _s, "fakevfio run -- true " + _s),
        ("attach-only scenario " + _s, "no-attach scenario " + _s),
        ("run no-attach, whole " + _s, "fakevfio run -- true " + _s),
        ("run attach-only, whole " + _s, "run no-attach, whole " + _s),
    ]
KINDS = ["cfg-core", "cfg-raw", "bar-core", "mem-core", "bar-raw",
         "msix-core", "msixstep-core", "msix-raw"]
VALUE = r"(?:\d+|n/a) ops/s|\d+\.\d\d ms"
ROW_RE = re.compile(r"^(?P<fig>\S.*?)\s{2,}(?P<val>%s)\s{2,}(?P<base>\S.*?)\s{2,}"
                    r"(?P<bval>%s)\s{2,}(?P<ratio>\d+\.\d\dx|n/a)$" % (VALUE, VALUE))


def within(x, lo, hi, line):
    """X, printed to 0.01, is the quotient whose bounds are LO and HI."""
    assert lo - 0.005 <= x <= hi + 0.005, line


@pytest.mark.slow
def test_quick_run_prints_the_whole_table(repo_root, build, tmp_path):
    if os.geteuid() != 0 or not os.access("/dev/fuse", os.R_OK | os.W_OK):
        pytest.skip("fakevfio needs root and /dev/fuse")
    env = dict(os.environ, TMPDIR=str(tmp_path))
    r = subprocess.run([str(repo_root / "bench" / "run-harness-bench"), str(build), "--quick"],
                       capture_output=True, text=True, timeout=600, env=env)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stderr == ""
    lines = r.stdout.splitlines()
    assert lines[0] == "vfio-harness benchmark (bench/run-harness-bench --quick)"
    assert re.fullmatch(r"date \d{4}-\d\d-\d\d \d\d:\d\d:\d\d \S+, nproc %d, kernel %s, "
                        r"cpu .+, load \d+\.\d\d" % (os.cpu_count(), re.escape(os.uname().release)),
                        lines[1]), lines[1]
    assert lines[2] == ("N: 2000 reads, 2 expect.msi / 1000 step-0 round trips and raw irqs "
                        "per scenario (and 2N); 3 rounds; K=5 fixed-cost runs; floor n=2000")
    assert lines[3].split() == ["figure", "value", "baseline", "value", "ratio"]

    table = lines[4:4 + len(ROWS)]
    got = []
    for line in table:
        m = ROW_RE.match(line)
        assert m, "row does not parse: %r" % line
        got.append((m["fig"], m["base"]))
        val, bval, ratio = m["val"], m["bval"], m["ratio"]
        if val.endswith(" ms"):
            # Fixed-cost rows: both are times, always measured; the ratio is
            # their quotient, to the rounding of the printed values (0.01 ms).
            assert bval.endswith(" ms"), line
            t, bt = float(val.split()[0]), float(bval.split()[0])
            assert t > 0 and bt > 0, line
            within(float(ratio[:-1]), (t - 0.005) / (bt + 0.005), (t + 0.005) / (bt - 0.005), line)
        else:
            assert bval.endswith(" ops/s"), line
            if "n/a" in (val.split()[0], bval.split()[0]):
                assert ratio == "n/a", line
                continue
            rate, brate = int(val.split()[0]), int(bval.split()[0])
            assert rate > 0 and brate > 0, line
            # A time ratio: baseline rate / rate (rates rounded to 1 op/s).
            within(float(ratio[:-1]), (brate - 0.5) / (rate + 0.5),
                   (brate + 0.5) / (rate - 0.5), line)
    assert got == ROWS

    rest = lines[4 + len(ROWS):]
    assert re.fullmatch(r"ratio: figure's time / baseline's time \(per operation or per run\); "
                        r"realize \+ unrealize ~ -?\d+\.\d\d ms "
                        r"\(attach-only p50 - no-attach p50\)",
                        rest[0]), rest[0]
    assert rest[1] == "scenario times (ms) of each round, N and 2N operations:"
    kinds = []
    for line in rest[2:]:
        m = re.fullmatch(r"  (\S+)\s+N: (\d+ \d+ \d+)\s+2N: (\d+ \d+ \d+)", line)
        assert m, "per-round line does not parse: %r" % line
        kinds.append(m[1])
    assert kinds == KINDS
    assert os.listdir(tmp_path) == [], "temporary files left behind"


def test_help_and_bad_arguments(repo_root):
    exe = str(repo_root / "bench" / "run-harness-bench")
    r = subprocess.run([exe, "--help"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0 and r.stderr == ""
    assert r.stdout.startswith("The scenario harness's throughput and fixed cost")
    assert "Usage: bench/run-harness-bench [BUILD_DIR] [--quick]" in r.stdout
    r = subprocess.run([exe, "--frob"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr == "run-harness-bench: unexpected arguments --frob (try --help)\n"
    r = subprocess.run([exe, "/nonexistent-build"], capture_output=True, text=True, timeout=60)
    assert r.returncode == 2
    assert r.stderr == ("run-harness-bench: /nonexistent-build/bin/vfio-harness is missing: "
                        "run make first\n")
