# SPDX-License-Identifier: GPL-2.0-or-later
"""The bundled scenario suite (scenarios/) under `vfio-harness run`.

* Every bundled scenario passes (one test per file, so a failure is named).
* Every bundled scenario can fail: a copy with one expectation broken (the
  last `== VALUE` check with a numeric value, the value XORed with 1; in a
  scenario without one, the last `expect.* times=N`, N+1) fails at that
  very line with "expectation failed".  A scenario whose checks
  could not fail would pass its copy too.
* scripts/gen-captured-scenario on this machine: the scenario it writes from
  a real PCI device passes (or the test is skipped with the script's own
  reason when the machine has no device), and its skip path and usage.
"""
import os
import pathlib
import re
import shutil
import subprocess

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
SCENARIOS = REPO / "scenarios"
BUNDLED = sorted(SCENARIOS.rglob("*.scn"))
GEN = REPO / "scripts" / "gen-captured-scenario"


def ids(paths):
    return [str(p.relative_to(SCENARIOS)) for p in paths]


@pytest.fixture(scope="module")
def harness(build):
    exe = build / "bin" / "vfio-harness"
    if not exe.exists():
        pytest.fail(f"{exe} does not exist: run make first")
    if os.geteuid() != 0:
        pytest.skip("fakevfio needs root (mount namespace, FUSE)")
    return exe


def run(harness, *args, timeout=300):
    return subprocess.run([str(harness), "run", *map(str, args)],
                          capture_output=True, text=True, timeout=timeout)


def test_the_suite_is_there():
    names = set(ids(BUNDLED))
    for must in ("chelsio-t5-vf/msix-pba-quirk.scn", "chelsio-t5-vf/msi.scn",
                 "dma-test/intx.scn", "dma-test/iommu-fault.scn",
                 "failures/reset-without-reset-works.scn",
                 "load/config-mmio-100k.scn"):
        assert must in names
    # Every file says what it checks and why: a comment header after SPDX.
    for p in BUNDLED:
        lines = p.read_text().splitlines()
        assert lines[0] == "# SPDX-License-Identifier: GPL-2.0-or-later", p
        header = [l for l in lines[1:12] if l.startswith("# ") and len(l) > 10]
        assert len(header) >= 3, f"{p}: no comment header"


@pytest.mark.parametrize("scn", BUNDLED, ids=ids(BUNDLED))
def test_bundled_scenario_passes(harness, scn):
    r = run(harness, scn)
    assert r.returncode == 0, r.stdout + r.stderr


# ---- mutations --------------------------------------------------------------

# `== VALUE` where VALUE is one expression word (not a byte string, not a
# result keyword such as `delivered`, not a string), with no mask=.
CHECK = re.compile(r"(?P<head>^\s*(?!#)\S.*?\s==\s+)(?P<val>[^\s#\"]+)(?P<tail>\s*(#.*)?)$")
NON_NUMERIC = re.compile(r"^(delivered|pending|dropped|masked)$|^hex:|^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2})+$")


TIMES = re.compile(r"^(?P<head>\s*expect\.\S+\s.*?\btimes=)(?P<n>\d+)(?P<tail>(\s.*)?)$")


def mutation(lines):
    """(index, mutated line): the last `== VALUE` check with a numeric value
    (VALUE becomes (VALUE)^1), or, in a scenario without one, the last
    `expect.* times=N` (N becomes N+1); (None, None) if there is neither."""
    for i in range(len(lines) - 1, -1, -1):
        line = lines[i]
        if line.lstrip().startswith("#") or "mask=" in line:
            continue
        m = CHECK.match(line)
        if not m or NON_NUMERIC.search(m.group("val")):
            continue
        return i, f"{m.group('head')}({m.group('val')})^1{m.group('tail')}"
    for i in range(len(lines) - 1, -1, -1):
        m = TIMES.match(lines[i])
        if m:
            return i, f"{m.group('head')}{int(m.group('n')) + 1}{m.group('tail')}"
    return None, None


@pytest.mark.parametrize("scn", BUNDLED, ids=ids(BUNDLED))
def test_bundled_scenario_can_fail(harness, scn, tmp_path):
    lines = scn.read_text().splitlines()
    i, mutated = mutation(lines)
    assert i is not None, f"{scn}: no `== VALUE` or `times=N` check to break"
    lines[i] = mutated
    broken = tmp_path / scn.name
    broken.write_text("\n".join(lines) + "\n")
    # Files a scenario names (file=...) are relative to it.
    for f in scn.parent.iterdir():
        if f.is_file() and f.suffix != ".scn":
            shutil.copy(f, tmp_path / f.name)
    r = run(harness, broken)
    out = r.stdout + r.stderr
    assert r.returncode == 1, out
    assert re.search(rf"{re.escape(scn.name)}:{i + 1}:\d+: expectation failed", out), \
        f"line {i + 1} ({mutated.strip()}) did not fail as expected:\n{out}"


def test_the_mutation_is_where_it_should_be():
    lines = ["cfg.read d0 0 4 == 0x11f01b36   # id",
             "device.irq d0 msi 0 == delivered",
             "expect.ram 0 de:ad",
             "device.dma-read d0 0 2 == de:ad",
             "cfg.read d0 6 2 == 0x10 mask=0x10",
             "# cfg.read d0 0 4 == 1"]
    assert mutation(lines) == (0, "cfg.read d0 0 4 == (0x11f01b36)^1   # id")
    assert mutation(["expect d0.vectors == $n"]) == (0, "expect d0.vectors == ($n)^1")
    assert mutation(["expect.trace ioctl times=1  # x", "attach d0 => error \"x\"",
                     "control \"faults\" == \"hits=1\""]) == \
        (0, "expect.trace ioctl times=2  # x")
    assert mutation(["control \"faults\" == \"hits=1\""]) == (None, None)


# ---- the captured-profile scenario ------------------------------------------

def gen(*args, env=None):
    return subprocess.run([str(GEN), *map(str, args)], capture_output=True, text=True,
                          timeout=60, env=env)


def test_captured_profile_scenario_of_this_machine(harness, build, tmp_path):
    env = dict(os.environ, VFIOSIM_BUILD=str(build))
    r = gen(tmp_path / "cap", env=env)
    assert r.returncode == 0, r.stderr
    if r.stdout.startswith("skipped: "):
        assert not (tmp_path / "cap").exists()
        pytest.skip(r.stdout.strip())
    scn = tmp_path / "cap" / "captured.scn"
    assert (tmp_path / "cap" / "captured.profile").is_file()
    text = scn.read_text()
    assert "cfg.read dev PCI_VENDOR_ID 2 == 0x" in text
    assert "expect   barsize(dev,0) == " in text
    r = run(harness, scn)
    assert r.returncode == 0, r.stdout + r.stderr
    # And it can fail: a wrong vendor ID is caught at its line.
    lines = text.splitlines()
    i = next(n for n, l in enumerate(lines) if l.startswith("cfg.read dev PCI_VENDOR_ID"))
    lines[i] = lines[i] + "^1"
    scn.write_text("\n".join(lines) + "\n")
    r = run(harness, scn)
    assert r.returncode == 1
    assert f"captured.scn:{i + 1}:" in r.stdout + r.stderr


def test_captured_profile_skip_without_devices(tmp_path):
    empty = tmp_path / "sys"
    empty.mkdir()
    r = gen("--sysfs", empty, tmp_path / "out")
    assert (r.returncode, r.stdout, r.stderr) == (0, f"skipped: no PCI device in {empty}\n", "")
    assert not (tmp_path / "out").exists()
    r = gen("--sysfs", empty, "--bdf", "0000:00:09.0", tmp_path / "out")
    assert (r.returncode, r.stdout) == (0, f"skipped: no PCI device 0000:00:09.0 in {empty}\n")


def test_captured_profile_usage():
    r = gen()
    assert r.returncode == 2
    assert "usage: scripts/gen-captured-scenario" in r.stderr
    r = gen("--frob", "x")
    assert (r.returncode, r.stderr.splitlines()[0]) == \
        (2, "gen-captured-scenario: unknown option '--frob'")
