# SPDX-License-Identifier: GPL-2.0-or-later
"""The sPAPR scenarios (scenarios/spapr/) under `vfio-harness run`: they
pass; a copy of each with one expectation changed fails at exactly that
line; the same guest traffic on a v1 and a v2 POWER host gives the same
guest-visible results but different VFIO traces.
"""
import os
import re
import subprocess

import pytest

SPAPR = ["abi-v1-raw.scn", "bypass.scn", "ddw.scn", "dma-v1.scn", "dma-v2.scn",
         "eeh.scn", "tce-hcalls.scn", "tce-load-100k.scn"]
MARK = "# ---- common body"

# (file, the line as it is, the line broken): each a different kind of check.
BROKEN = [
    ("abi-v1-raw.scn", "vfio.ioctl c VFIO_IOMMU_ENABLE => errno EBUSY",
     "vfio.ioctl c VFIO_IOMMU_ENABLE => errno EPERM"),
    ("bypass.scn", "expect.ram 0x1010 c1:c2", "expect.ram 0x1010 c1:c3"),
    ("ddw.scn", "expect $W == 0x80000001", "expect $W == 0x80000002"),
    ("dma-v1.scn", "tce.get 0x80000000 0x1000 == 0x20003",
     "tce.get 0x80000000 0x1000 == 0x20002"),
    ("dma-v2.scn", "expect.dma-map iova=0x2000 size=0x1000",
     "expect.dma-map iova=0x2000 size=0x2000"),
    ("dma-v2.scn", "expect.iommu-fault d0 iova=0x1040 dir=write times=1",
     "expect.iommu-fault d0 iova=0x1040 dir=read times=1"),
    ("eeh.scn", "eeh d0 get-state == VFIO_EEH_PE_STATE_STOPPED",
     "eeh d0 get-state == VFIO_EEH_PE_STATE_NORMAL"),
    ("tce-hcalls.scn", "tce.put 0x80000001 0x5000 0x30003 == H_PARAMETER",
     "tce.put 0x80000001 0x5000 0x30003 == H_SUCCESS"),
    ("tce-hcalls.scn", "tce.indirect $L 0x20000 0x200000 513 == H_PARAMETER",
     "tce.indirect $L 0x20000 0x200000 512 == H_PARAMETER"),
    ("tce-load-100k.scn", "  mem.read $ra+0x10 4 == 0xefbeadde",
     "  mem.read $ra+0x10 4 == 0xefbeadd0"),
]


def need_fake():
    if os.geteuid() != 0 or not os.path.exists("/dev/fuse"):
        pytest.skip("fakevfio needs root and /dev/fuse")


def run(build, *args, cwd=None):
    return subprocess.run([str(build / "bin" / "vfio-harness"), "run", *map(str, args)],
                          capture_output=True, text=True, timeout=300, cwd=cwd)


@pytest.fixture
def spapr_dir(repo_root):
    return repo_root / "scenarios" / "spapr"


def test_the_suite_is_what_this_file_knows(spapr_dir):
    assert sorted(p.name for p in spapr_dir.glob("*.scn")) == SPAPR


def test_spapr_scenarios_pass(build, spapr_dir):
    need_fake()
    r = run(build, "-j2", spapr_dir)
    assert r.returncode == 0, r.stdout + r.stderr
    for name in SPAPR:
        assert re.search(rf"^PASS  \S*/spapr/{re.escape(name)}  ", r.stdout, re.M), r.stdout
    assert f"{len(SPAPR)} scenarios: {len(SPAPR)} passed, 0 failed" in r.stdout


@pytest.mark.parametrize("name,old,new", BROKEN,
                         ids=[f"{b[0]}:{i}" for i, b in enumerate(BROKEN)])
def test_a_broken_copy_fails_at_that_line(build, spapr_dir, tmp_path, name, old, new):
    need_fake()
    lines = (spapr_dir / name).read_text().split("\n")
    code = [re.sub(r"\s+#.*$", "", ln).rstrip() for ln in lines]
    assert code.count(old) == 1, f"{name}: '{old}' must be there exactly once"
    no = code.index(old) + 1
    lines[no - 1] = new + lines[no - 1][len(old):]
    copy = tmp_path / name
    copy.write_text("\n".join(lines))
    r = run(build, copy)
    assert r.returncode == 1, r.stdout + r.stderr
    assert f"FAIL  {copy}  " in r.stdout
    # The first failure is at the changed line, and it is the check that failed.
    m = re.search(rf"{re.escape(str(copy))}:(\d+):(\d+): (expectation failed|failed): (.*)",
                  r.stdout)
    assert m, r.stdout
    assert int(m.group(1)) == no, r.stdout
    assert m.group(4).strip() == new.strip()
    assert "1 scenario: 0 passed, 1 failed" in r.stdout


def trace_ops(path):
    """(name, iova, size, flags) of every TCE-sized MAP/UNMAP_DMA, in order."""
    out = []
    for line in path.read_text().splitlines():
        m = re.search(r"name=(VFIO_IOMMU_(?:UN)?MAP_DMA) .*?(?:flags=(\S+) )?"
                      r"(?:vaddr=\S+ )?iova=(\S+) size=(0x1000) ret=(\S+)", line)
        if m:
            out.append((m.group(1), m.group(3), m.group(4), m.group(2), m.group(5)))
    return out


def names(path):
    return re.findall(r"name=(VFIO_\w+)", path.read_text())


def test_v1_and_v2_same_guest_traffic_different_traces(build, spapr_dir, tmp_path):
    need_fake()
    v1 = (spapr_dir / "dma-v1.scn").read_text()
    v2 = (spapr_dir / "dma-v2.scn").read_text()
    assert MARK in v1 and MARK in v2
    body1, body2 = v1[v1.index(MARK):], v2[v2.index(MARK):]
    assert body1 == body2
    assert "tce=v1" in v1[:v1.index(MARK)] and "tce=v2" in v2[:v2.index(MARK)]

    # The same body with the same expectations passes on both hosts: the
    # guest-visible results (RAM, TCEs, hcall codes, DMA errnos) are equal.
    r = run(build, "--trace", tmp_path / "tr", spapr_dir / "dma-v1.scn",
            spapr_dir / "dma-v2.scn")
    assert r.returncode == 0, r.stdout + r.stderr
    t1 = next((tmp_path / "tr").glob("*dma-v1.scn.trace"))
    t2 = next((tmp_path / "tr").glob("*dma-v2.scn.trace"))
    n1, n2 = names(t1), names(t2)

    # Different VFIO traces: v2 pre-registers RAM and makes its window, v1 enables.
    assert n2.count("VFIO_IOMMU_SPAPR_REGISTER_MEMORY") == 1
    assert n2.count("VFIO_IOMMU_SPAPR_UNREGISTER_MEMORY") == 1
    assert n2.count("VFIO_IOMMU_SPAPR_TCE_CREATE") == 1
    assert n2.count("VFIO_IOMMU_ENABLE") == 0
    assert n1.count("VFIO_IOMMU_ENABLE") == 1
    assert n1.count("VFIO_IOMMU_SPAPR_REGISTER_MEMORY") == 0
    assert n1.count("VFIO_IOMMU_SPAPR_TCE_CREATE") == 0
    assert n1.count("VFIO_IOMMU_SPAPR_TCE_REMOVE") == 0
    assert re.search(r"name=VFIO_SET_IOMMU .* type=VFIO_SPAPR_TCE_IOMMU ret=0", t1.read_text())
    assert re.search(r"name=VFIO_SET_IOMMU .* type=VFIO_SPAPR_TCE_v2_IOMMU ret=0",
                     t2.read_text())
    # ... but the TCE traffic reaches both hosts as the same page mappings.
    ops1, ops2 = trace_ops(t1), trace_ops(t2)
    assert ops1 == ops2
    assert ops1[:2] == [("VFIO_IOMMU_MAP_DMA", "0x1000", "0x1000", "0x3", "0"),
                        ("VFIO_IOMMU_MAP_DMA", "0x2000", "0x1000", "0x3", "0")]
    assert ("VFIO_IOMMU_UNMAP_DMA", "0x1000", "0x1000", "0x0", "0") in ops1


PSERIES = ("machine platform=pseries tce=v2 ram=16M\n"
           "device d0 dma-test host=0000:04:00.0 group=40\nattach d0\n")


@pytest.mark.parametrize("body,kind,detail", [
    # an hcall without a check must return H_SUCCESS
    ("tce.put 0x80000001 0x5000 0x30003", "expectation failed",
     ["expected: H_SUCCESS", "actual:   H_PARAMETER"]),
    ("phb.ddw.create 64 12", "failed", ["error: shifts must be below 64"]),
    ("phb.ddw.remove 0x80000000\nphb.bypass 1", "failed",
     ["error: phb.bypass: the default window (LIOBN 0x80000000) is not enabled"]),
    ("eeh d0 inject 0x100000000 0", "failed",
     ["error: eeh inject: expected TYPE and FUNC (32-bit)"]),
    ("tce.put 0x80000000 0x1000 0x20003 => error \"x\"", "expectation failed",
     ["expected: an error containing \"x\"", "actual:   success"]),
])
def test_pseries_statement_failures(build, tmp_path, body, kind, detail):
    need_fake()
    scn = tmp_path / "f.scn"
    scn.write_text(PSERIES + body + "\n")
    p = run(build, scn)
    last = body.splitlines()[-1]
    line = 3 + len(body.splitlines())
    out = p.stdout.splitlines()
    assert p.returncode == 1, p.stdout + p.stderr
    i = out.index(f"      {scn}:{line}:1: {kind}: {last}")
    assert out[i + 1:i + 1 + len(detail)] == ["        " + d for d in detail]
    assert out[i + 1 + len(detail)] == "        last VFIO operations (fakevfio trace):"
