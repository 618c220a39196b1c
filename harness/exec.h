/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * harness/exec: runs one parsed scenario against the passthrough core
 * (core/machine), fakevfio's control socket and trace, and raw VFIO
 * (harness/hx-vfio).  `vfio-harness exec` is its command line; the runner
 * starts it once per scenario (under `fakevfio run` for the sim backend).
 *
 *   vfio-harness exec [--backend sim|host] [--map DEV=BDF]...
 *                     [--fake-trace FILE] [--result-fd N] FILE
 *
 * Result protocol, written to --result-fd (default: none) one line each,
 * in this order; the runner parses it (harness/runner.c):
 *
 *   skip LINE REASON          a step skipped (host backend), LINE decimal
 *   fail LINE:COL MESSAGE     the failure (at most one)
 *   detail TEXT               more lines of the failure (expected/actual,
 *                             trace tail), each prefixed, as many as needed
 *   stats steps=N skipped=K ops=M seconds=S.SSS
 *                             steps: statements executed (repeat bodies
 *                             count each time); ops: guest/device/VFIO
 *                             operations made
 *   done pass|fail
 *
 * A scenario whose executor exits without "done" crashed; the runner says
 * so.  Human-readable messages also go to stderr.  Exit status: 0 pass,
 * 1 fail, 2 usage or parse error.
 */
#ifndef HARNESS_EXEC_H
#define HARNESS_EXEC_H

int hx_exec_main(int argc, char **argv);

#endif
