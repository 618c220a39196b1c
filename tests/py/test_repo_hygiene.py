# SPDX-License-Identifier: GPL-2.0-or-later
"""Repository rules that a reviewer would otherwise check by hand."""
import os
import subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SOURCE_ENDINGS = (".c", ".h", ".py", ".sh", ".mk", ".md", ".profile", ".scn", ".ini")
SPDX = "SPDX-License-Identifier: GPL-2.0-or-later"


def tracked_files():
    out = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True)
    if out.returncode != 0:  # not a git checkout (e.g. a release tarball)
        for d, _, files in os.walk(ROOT):
            if "/build" in d or "/." in d:
                continue
            for f in files:
                yield os.path.relpath(os.path.join(d, f), ROOT)
        return
    yield from out.stdout.split()


def needs_spdx(path):
    name = os.path.basename(path)
    return (path.endswith(SOURCE_ENDINGS) or name in ("Makefile", "run")
            or path.startswith("scripts/")) and path != "LICENSE"


def test_every_source_file_has_an_spdx_header():
    missing = []
    for path in tracked_files():
        if not needs_spdx(path):
            continue
        with open(os.path.join(ROOT, path), errors="replace") as f:
            head = f.read(400)
        if SPDX not in head:
            missing.append(path)
    assert not missing, "files without '%s' in their first lines: %s" % (SPDX, missing)


def test_license_is_gpl2():
    with open(os.path.join(ROOT, "LICENSE")) as f:
        text = f.read()
    assert "GNU GENERAL PUBLIC LICENSE" in text and "Version 2, June 1991" in text
