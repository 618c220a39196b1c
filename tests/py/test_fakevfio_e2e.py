# SPDX-License-Identifier: GPL-2.0-or-later
"""End to end: a VFIO client (tests/py/vfio_client.py) inside `fakevfio run`
while the device side is driven through the control socket."""
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("VFIOSIM_BUILD", os.path.join(ROOT, "build", "cc"))
CLIENT = os.path.join(ROOT, "tests", "py", "vfio_client.py")


def run_scenario(scenario, device, bdf, group=100):
    r = subprocess.run([os.path.join(BUILD, "bin", "fakevfio"), "run", "--device", device, "--",
                        sys.executable, CLIENT, scenario, str(group), bdf],
                       capture_output=True, text=True, timeout=60)
    out = dict(line.split(" ", 1) for line in r.stdout.splitlines() if " " in line)
    assert r.returncode == 0, (r.stdout, r.stderr)
    assert "oserror" not in out, out
    return out


@pytest.mark.parametrize("device,bdf", [
    ("dma-test@0000:00:05.0", "0000:00:05.0"),
    ("chelsio-t5-vf@0000:03:00.1", "0000:03:00.1"),
])
def test_msix_interrupt_reaches_the_clients_eventfd(device, bdf):
    out = run_scenario("msix-irq", device, bdf)
    assert out["set_irqs"] == "0"
    assert out["irq"] == "ok"
    assert out["v3"] == "1"            # exactly the raised vector ...
    assert out["v0"] == "0"            # ... and no other
    assert out["v2_before"] == "0"     # no trigger: pending in the device
    assert out["v2_after"] == "1"      # delivered once a trigger is attached
    assert out["events_irq"] == "2"         # exactly the two signals above


def test_device_dma_lands_in_the_clients_buffer_and_faults_elsewhere():
    out = run_scenario("dma", "dma-test@0000:00:05.0", "0000:00:05.0")
    assert out["dma_no_master"].startswith("error EACCES")   # Bus Master off: no DMA
    assert out["dma_write"] == "ok"
    assert out["buf"] == "deadbeef"
    assert out["dma_read"] == "data=1111111111111111"
    assert out["dma_unmapped"].startswith("error EFAULT")
    assert out["unchanged"] == "True"
    assert out["fault_events"] == "1"       # exactly the unmapped write
    assert out["mappings"] == "1"
    assert out["unmapped_size"] == "0x2000"
