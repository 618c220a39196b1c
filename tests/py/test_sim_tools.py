# SPDX-License-Identifier: GPL-2.0-or-later
"""End-to-end tests of the sim/ command-line tools (sim-dump) and of the
project's scripts (install-deps, coverage-report)."""
import re
import subprocess

import pytest


def run(*args):
    return subprocess.run(args, capture_output=True, text=True, timeout=60)


@pytest.fixture
def sim_dump(build):
    return lambda *args: run(str(build / "bin" / "sim-dump"), *args)


def test_help(sim_dump):
    r = sim_dump("--help")
    assert r.returncode == 0
    assert r.stdout.startswith("Usage: sim-dump")
    assert "--all" in r.stdout and "Exit status" in r.stdout


@pytest.mark.parametrize("args,code,msg", [
    ((), 2, "name a model, or use --all or --list"),
    (("--hex=12", "dma-test"), 2, "--hex takes 0, 64, 256 or 4096, not '12'"),
    (("--bogus",), 2, "Try 'sim-dump --help'"),
    (("nosuch",), 1, "unknown device model 'nosuch' (known: chelsio-t5-vf, dma-test, profile)"),
    (("dma-test:colour=red",), 1, "model dma-test has no parameter 'colour'"),
    (("chelsio-t5-vf:device_id=0x1234",), 1, "parameter device_id=0x1234: not a T5 VF device ID "
     "(valid: 0x5800-0x581b, 0x5880-0x58b0)"),
    (("profile",), 1, "profile: parameter file=PATH is required"),
])
def test_usage_errors(sim_dump, args, code, msg):
    r = sim_dump(*args)
    assert r.returncode == code, r.stderr
    assert msg in r.stderr
    assert r.stdout == ""


def test_list(sim_dump):
    r = sim_dump("--list")
    assert r.returncode == 0
    names = [l.split()[0] for l in r.stdout.splitlines() if l and not l[0].isspace()]
    assert names[:3] == ["chelsio-t5-vf", "dma-test", "profile"]


def test_all_walks_t5vf_in_chain_order(sim_dump):
    r = sim_dump("--all")
    assert r.returncode == 0, r.stderr
    t5 = r.stdout.split("\n\n")[0]
    assert "chelsio-t5-vf" in t5.splitlines()[0]
    assert "1425:5803 subsystem 1425:0000 class 020000 rev 00  [SR-IOV VF]" in t5
    assert "Raw ID register: ffffffff" in t5
    caps = re.findall(r"Capabilities: \[([0-9a-f]+)\] ([^(]+)\(", t5)
    assert [c[0] for c in caps] == ["70", "b0", "50", "100", "140", "150"]
    assert "PBA: BAR=4 offset=0x00008000  <-- outside BAR4 (0x2000 bytes)" in t5
    assert "Count 1/32, 64-bit+, Maskable+" in t5
    # The hex dump starts with the raw (VF) ID dword.
    assert "000: ff ff ff ff" in t5


def test_install_deps_is_idempotent(repo_root):
    deps = str(repo_root / "scripts" / "install-deps")
    r = run(deps, "--dry-run")
    assert r.returncode == 0
    assert r.stdout == "", "make check ran, so nothing may be missing: " + r.stdout
    r = run(deps, "--frobnicate")
    assert r.returncode == 2
    assert "unknown option '--frobnicate'" in r.stderr


def test_coverage_report_usage(repo_root):
    exe = str(repo_root / "scripts" / "coverage-report")
    r = run(exe, "--help")
    assert r.returncode == 0 and r.stderr == ""
    assert r.stdout.startswith("Turn the gcov data of a coverage build")
    # One argument is a usage error, not a request for help.
    r = run(exe, "build/cc")
    assert r.returncode == 2 and r.stdout == ""
    assert "Usage: scripts/coverage-report BUILD_DIR OUT_DIR" in r.stderr
