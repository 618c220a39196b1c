# SPDX-License-Identifier: GPL-2.0-or-later
"""Shared pytest fixtures.

The binaries under test come from one build directory: $VFIOSIM_BUILD
(``make pytest`` sets it), else build/cc in the source tree.
"""
import os
import pathlib

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def repo_root():
    """The source tree."""
    return REPO


@pytest.fixture(scope="session")
def build():
    """The build directory holding bin/, tests/ and the libraries."""
    d = pathlib.Path(os.environ.get("VFIOSIM_BUILD", "build/cc"))
    if not d.is_absolute():
        d = REPO / d
    if not d.is_dir():
        pytest.fail(f"build directory {d} does not exist: run make first "
                    "(or set VFIOSIM_BUILD)")
    return d
