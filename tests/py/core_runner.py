# SPDX-License-Identifier: GPL-2.0-or-later
"""Runs bin/vfc-realize for the core's tests: on this machine's kernel, or
under `fakevfio run`, in its own process group (killed on timeout), with
VFIOSIM_TRACE only when asked for."""
import os
import re
import signal
import subprocess

import pytest


def need_fake():
    if os.geteuid() != 0 or not os.path.exists("/dev/fuse"):
        pytest.skip("fakevfio needs root and /dev/fuse")


class Runner:
    def __init__(self, build, tmp_path):
        self.build = build
        self.tmp = tmp_path
        self.fakevfio = build / "bin" / "fakevfio"
        self.realize = build / "bin" / "vfc-realize"

    def _run(self, argv, env=None, timeout=60):
        e = dict(os.environ)
        e.pop("VFIOSIM_TRACE", None)
        e.update(env or {})
        p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True, env=e, start_new_session=True)
        try:
            out, err = p.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            p.communicate()
            pytest.fail(f"timeout: {argv}")
        return p.returncode, out, err

    def fv(self, fv_args, args, trace=None):
        """vfc-realize ARGS under fakevfio run FV_ARGS; trace: VFIOSIM_TRACE
        patterns, returned as the list of trace lines (without heads)."""
        env = {}
        tfile = self.tmp / "trace.log"
        if trace:
            env = {"VFIOSIM_TRACE": trace, "VFIOSIM_TRACE_FILE": str(tfile)}
        rc, out, err = self._run([str(self.fakevfio), "run", *fv_args, "--",
                                  str(self.realize), *args], env)
        lines = []
        if trace and tfile.exists():
            lines = [re.sub(r"^\d+\.\d+ \d+ ", "", l)
                     for l in tfile.read_text().splitlines()]
        return rc, out, err, lines

    def host(self, args):
        return self._run([str(self.realize), *args])

    def topology(self, text):
        f = self.tmp / "topo.txt"
        f.write_text(text)
        return ["--topology", str(f)]
