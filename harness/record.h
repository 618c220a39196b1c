/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * harness/record: `vfio-harness record TRACE` turns a fakevfio operation
 * trace (docs/fakevfio.md, "The operation trace") into a scenario of raw
 * VFIO statements (vfio.*) that replays the same calls, with the recorded
 * results as checks.
 */
#ifndef HARNESS_RECORD_H
#define HARNESS_RECORD_H

int hx_record_main(int argc, char **argv);

#endif
