# SPDX-License-Identifier: GPL-2.0-or-later
"""Helpers shared by the bench/run-* scripts (standard library only).

A script next to this file imports it with

    sys.dont_write_bytecode = True
    sys.path.insert(0, os.path.dirname(os.path.realpath(__file__)))
    import benchlib
"""
import os
import platform
import re
import subprocess
import tempfile
import time


def parse(out):
    """vfio-bench's lines -> {name: (p50, p99, mean)} in microseconds."""
    res = {}
    for m in re.finditer(r"^(\S+)\s+n=\d+\s+p50=\s*([\d.]+) p99=\s*([\d.]+) mean=\s*([\d.]+)",
                         out, re.M):
        res[m.group(1)] = tuple(float(x) for x in m.group(2, 3, 4))
    return res


def fuse_floor(build, n):
    """The FUSE floor: bench/null-fuse serving a do-nothing file, timed by
    `vfio-bench --floor` (floor-ioctl, floor-pread), as parse() returns."""
    bench = os.path.join(build, "bin", "bench", "vfio-bench")
    nullfuse = os.path.join(build, "bin", "bench", "null-fuse")
    with tempfile.TemporaryDirectory(prefix="vfiosim-bench-") as mnt:
        srv = subprocess.Popen([nullfuse, mnt])
        try:
            for _ in range(100):
                if os.path.exists(os.path.join(mnt, "dev")):
                    break
                if srv.poll() is not None:
                    raise RuntimeError("null-fuse exited with status %d" % srv.returncode)
                time.sleep(0.02)
            out = subprocess.run([bench, "-n", str(n), "--floor", os.path.join(mnt, "dev")],
                                 capture_output=True, text=True, check=True, timeout=600).stdout
            return parse(out)
        finally:
            srv.terminate()
            srv.wait(timeout=10)


def wall(argv, k):
    """Wall times in seconds of K runs of ARGV (each must succeed).  No
    timeout on purpose: Popen.wait(timeout) polls with growing sleeps, which
    rounds short times up by milliseconds; a blocking wait does not."""
    out = []
    for _ in range(k):
        t = time.monotonic()
        subprocess.run(argv, check=True, stdin=subprocess.DEVNULL,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        out.append(time.monotonic() - t)
    return out


def can_run_fakevfio():
    """fakevfio needs root (mount namespaces) and /dev/fuse."""
    return os.geteuid() == 0 and os.access("/dev/fuse", os.R_OK | os.W_OK)


def machine_info():
    """One line: date, nproc, kernel, CPU model, 1-minute load average."""
    cpu = platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return "date %s, nproc %d, kernel %s, cpu %s, load %.2f" % (
        time.strftime("%Y-%m-%d %H:%M:%S %Z"), os.cpu_count() or 0, platform.release(), cpu,
        os.getloadavg()[0])
