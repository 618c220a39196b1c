# SPDX-License-Identifier: GPL-2.0-or-later
"""vfio-harness run / list / check: the scenario runner (harness/runner.c,
harness/report.c, harness/main.c).

Most tests point VFIO_HARNESS_FAKEVFIO at a small Python stand-in for
`fakevfio run` that does what the scenario's `# fake:` comments say (pass,
fail, skip steps, crash, exit 125, sleep) and writes the result protocol
of harness/exec.h itself: they test the runner alone, whatever the
executor does.  The tests marked "real" run the real fakevfio and
executor.
"""
import os
import pathlib
import re
import signal
import subprocess
import sys
import textwrap
import time
import xml.etree.ElementTree as ET

import pytest

FAKE = r'''#!/usr/bin/python3
# A stand-in for "fakevfio run --topology T --trace TR -- SELF exec ... FILE".
import os, signal, sys, time
argv = sys.argv[1:]
log = os.environ.get("FAKE_LOG")
assert argv[0] == "run" and "--" in argv, argv
topo = argv[argv.index("--topology") + 1]
trace = argv[argv.index("--trace") + 1]
cmd = argv[argv.index("--") + 1:]
assert cmd[1] == "exec" and cmd[cmd.index("--result-fd") + 1] == "3", cmd
assert cmd[cmd.index("--fake-trace") + 1] == trace, cmd
scn = cmd[-1]
assert os.path.isfile(topo), topo
if log:
    with open(log, "a") as f:
        f.write("%d %s %s\n" % (os.getpid(), scn, trace))
res = os.fdopen(3, "w")
with open(trace, "w") as f:
    f.write("t=0.000 pid=1 op=open path=/dev/vfio/vfio ret=3\n")
done = "pass"
for line in open(scn, encoding="utf-8", errors="replace"):
    if not line.startswith("# fake: "):
        continue
    verb, _, arg = line[8:].rstrip("\n").partition(" ")
    if verb == "skip":
        res.write("skip %s\n" % arg)
    elif verb == "fail":
        loc, _, msg = arg.partition(" ")
        msg = msg.encode().decode("unicode_escape")
        res.write("fail %s %s\ndetail expected: 0x1\ndetail actual:   0x2\n" % (loc, msg))
        done = "fail"
    elif verb == "stdout":
        sys.stdout.write(arg.encode().decode("unicode_escape") + "\n")
    elif verb == "stderr":
        sys.stderr.buffer.write(arg.encode().decode("unicode_escape").encode("latin-1") + b"\n")
    elif verb == "sleep":
        if os.environ.get("FAKE_PIDDIR"):
            with open(os.path.join(os.environ["FAKE_PIDDIR"], str(os.getpid())), "w"):
                pass
        sys.stdout.flush()
        time.sleep(float(arg))
    elif verb == "orphan":
        # A process left in the group that holds none of the pipes.
        if os.fork() == 0:
            nul = os.open("/dev/null", os.O_RDWR)
            for fd in (0, 1, 2, 3):
                os.dup2(nul, fd)
            with open(os.path.join(os.environ["FAKE_PIDDIR"], "orphan"), "w") as f:
                f.write(str(os.getpid()))
            time.sleep(60)
            os._exit(0)
        while not os.path.exists(os.path.join(os.environ["FAKE_PIDDIR"], "orphan")):
            time.sleep(0.01)
    elif verb == "bigout":
        line = "x" * 1023 + "\n"
        for i in range(int(arg) * 1024):
            sys.stdout.write(line)
        sys.stdout.write("the end\n")
    elif verb == "crash":
        sys.stdout.flush(); sys.stderr.flush(); res.flush()
        os.kill(os.getpid(), signal.SIGSEGV)
    elif verb == "exit":
        sys.stdout.flush(); sys.stderr.flush(); res.flush()
        os._exit(int(arg))
res.write("stats steps=3 skipped=0 ops=7 seconds=0.001\ndone %s\n" % done)
res.flush()
sys.exit(0 if done == "pass" else 1)
'''

TIMES = re.compile(r"\d+\.\d\ds")


@pytest.fixture
def harness(build):
    path = build / "bin" / "vfio-harness"
    if not path.exists():
        pytest.fail(f"{path} is missing: run make first")
    return str(path)


@pytest.fixture
def env(tmp_path):
    """An environment with the fake fakevfio, a private TMPDIR, a log."""
    fake = tmp_path / "fake-fakevfio"
    fake.write_text(FAKE)
    fake.chmod(0o755)
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    piddir = tmp_path / "pids"
    piddir.mkdir()
    e = dict(os.environ)
    e.update(VFIO_HARNESS_FAKEVFIO=str(fake), TMPDIR=str(tmp),
             FAKE_LOG=str(tmp_path / "fake.log"), FAKE_PIDDIR=str(piddir))
    return e


def write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


def scn(path, *fake):
    """A scenario the real parser accepts, with # fake: directives."""
    lines = ["device vf0 dma-test"] + ["# fake: " + f for f in fake]
    return write(path, "\n".join(lines) + "\n")


def run(harness, args, env, cwd, timeout=60):
    return subprocess.run([harness] + args, cwd=cwd, env=env, capture_output=True,
                          text=True, errors="replace", timeout=timeout)


def fake_log(env):
    try:
        with open(env["FAKE_LOG"]) as f:
            return [line.split() for line in f]
    except FileNotFoundError:
        return []


def assert_clean(env, tmp_path):
    """No temp file, no process of any run left."""
    assert os.listdir(env["TMPDIR"]) == []
    for entry in fake_log(env):
        assert not os.path.exists("/proc/%s" % entry[0]), entry


@pytest.fixture
def suite(tmp_path):
    """A small suite: two passes, a failure, skipped steps, a parse error."""
    s = tmp_path / "s"
    scn(s / "dev" / "a-pass.scn")
    scn(s / "dev" / "b-fail.scn", "fail 7:3 expectation failed: cfg.read vf0 0 4")
    scn(s / "dev" / "c-skip.scn", "skip 4 device-side step (host backend)",
        "skip 9 expect.msi after a skipped device step")
    write(s / "other" / "d-parse.scn", "device vf0 dma-test\ncfg.raed vf0 0 4\n")
    scn(s / "other" / "e-pass.scn", "stdout hello from e")
    return s


NAMES = ["s/dev/a-pass.scn", "s/dev/b-fail.scn", "s/dev/c-skip.scn",
         "s/other/d-parse.scn", "s/other/e-pass.scn"]


# ---- usage -------------------------------------------------------------------

@pytest.mark.parametrize("args,message", [
    ([], "no command given"),
    (["frobnicate"], "unknown command 'frobnicate'"),
    (["run"], "run: no PATH given"),
    (["run", "-j", "0", "s"], "-j 0: expected a number of jobs from 1 to 256"),
    (["run", "-j", "x", "s"], "-j x: expected a number of jobs"),
    (["run", "--shard", "0/3", "s"], "--shard 0/3: I/N needs 1 <= I <= N"),
    (["run", "--shard", "4/3", "s"], "--shard 4/3: I/N needs 1 <= I <= N"),
    (["run", "--shard", "1-3", "s"], "--shard 1-3: expected I/N"),
    (["run", "--backend", "qemu", "s"], "--backend qemu: expected sim or host"),
    (["run", "--bogus", "s"], "unknown option '--bogus'"),
    (["run", "-q", "s"], "unknown option '-q'"),
    (["run", "s", "--junit"], "option '--junit' needs an argument"),
    (["run", "--timeout", "-1", "s"], "--timeout -1: expected seconds"),
    (["run", "--tap", "-v", "s"], "--tap and -v do not go together"),
    (["run", "--map", "vf0=0000:03:00.0", "s"], "--map is for --backend host"),
    (["run", "--backend", "host", "--map", "vf0", "s"], "--map vf0: expected NAME=BDF"),
    (["run", "--backend", "host", "--map", "vf0=zz", "s"], "--map vf0=zz: "),
    (["run", "--backend", "host", "--map", "nic9=03:00.0", "s"],
     "--map nic9=03:00.0: no selected scenario has a device 'nic9'"),
    (["check", "--junit", "x.xml", "s"], "check: '--junit' is an option of 'run' only"),
    (["run", "nonexistent"], "nonexistent: No such file or directory"),
    (["help", "frob"], "help: unknown command 'frob'"),
])
def test_usage_errors_exit_2_with_one_line_and_try_help(harness, env, tmp_path, args, message):
    scn(tmp_path / "s" / "a.scn")
    r = run(harness, args, env, tmp_path)
    assert r.returncode == 2, r.stderr
    assert r.stdout == ""
    assert message in r.stderr.splitlines()[0]
    if "nonexistent" not in args:
        assert "Try 'vfio-harness" in r.stderr
    assert fake_log(env) == []


def test_help_and_version(harness, env, tmp_path):
    r = run(harness, ["--help"], env, tmp_path)
    assert r.returncode == 0 and "Commands:" in r.stdout and "run PATH..." in r.stdout
    for cmd in ("run", "list", "check"):
        a = run(harness, [cmd, "--help"], env, tmp_path)
        b = run(harness, ["help", cmd], env, tmp_path)
        assert a.returncode == 0 and b.returncode == 0
        assert a.stdout == b.stdout
        assert a.stdout.startswith("Usage: vfio-harness %s" % cmd)
    r = run(harness, ["run", "--help"], env, tmp_path)
    for opt in ("--backend", "--map", "--junit", "--tap", "--trace", "--jobs",
                "--shard", "-k PATTERN", "--timeout", "--verbose"):
        assert opt in r.stdout, opt
    r = run(harness, ["--version"], env, tmp_path)
    assert r.returncode == 0 and re.fullmatch(r"vfio-harness \(vfiosim\) \S+\n", r.stdout)


def test_no_scenario_selected_exits_3(harness, env, tmp_path):
    (tmp_path / "empty").mkdir()
    r = run(harness, ["run", "empty"], env, tmp_path)
    assert r.returncode == 3
    assert "no scenarios selected: no *.scn file in the PATHs given" in r.stderr
    scn(tmp_path / "s" / "a.scn")
    for cmd in ("run", "list", "check"):
        r = run(harness, [cmd, "-k", "nomatch", "s"], env, tmp_path)
        assert r.returncode == 3, cmd
        assert "no scenarios selected: -k/--shard kept none of the 1 found" in r.stderr
    assert fake_log(env) == []


# ---- selection ---------------------------------------------------------------

def test_list_is_sorted_and_deduplicated(harness, env, tmp_path, suite):
    (tmp_path / "s" / "dev" / "notes.txt").write_text("not a scenario\n")
    (tmp_path / "s" / ".hidden").mkdir()
    scn(tmp_path / "s" / ".hidden" / "x.scn")
    r = run(harness, ["list", "s/other/", "./s", "s//dev/a-pass.scn",
                      str(tmp_path / "s" / "dev" / "b-fail.scn")], env, tmp_path)
    assert r.returncode == 0, r.stderr
    # The same file twice: the first name in sorted order stays.
    absolute = str(tmp_path / "s" / "dev" / "b-fail.scn")
    assert r.stdout.splitlines() == [absolute] + [n for n in NAMES if "b-fail" not in n]
    # A file named directly counts, whatever its name.
    write(tmp_path / "odd.txt", "device vf0 dma-test\n")
    r = run(harness, ["list", "odd.txt"], env, tmp_path)
    assert r.stdout == "odd.txt\n"


def test_k_selects_by_substring_or_glob(harness, env, tmp_path, suite):
    def names(*args):
        r = run(harness, ["list"] + list(args) + ["s"], env, tmp_path)
        assert r.returncode == (0 if r.stdout else 3), r.stderr
        return r.stdout.splitlines()

    assert names("-k", "pass") == ["s/dev/a-pass.scn", "s/other/e-pass.scn"]
    assert names("-k", "other/") == ["s/other/d-parse.scn", "s/other/e-pass.scn"]
    assert names("-k", "*/dev/[ab]-*") == ["s/dev/a-pass.scn", "s/dev/b-fail.scn"]
    assert names("-k", "dev/?-skip.scn") == []     # a glob matches the whole name
    assert names("-k", "s/dev/?-skip.scn") == ["s/dev/c-skip.scn"]
    assert names("-k", "fail", "-k", "skip") == ["s/dev/b-fail.scn", "s/dev/c-skip.scn"]
    # run -k runs exactly those.
    r = run(harness, ["run", "-k", "e-pass", "s"], env, tmp_path)
    assert r.returncode == 0
    assert [e[1] for e in fake_log(env)] == ["s/other/e-pass.scn"]


def test_shards_are_disjoint_complete_round_robin_and_stable(harness, env, tmp_path):
    for i in range(11):
        scn(tmp_path / "s" / ("d%d" % (i % 3)) / ("t%02d.scn" % i))
    full = run(harness, ["list", "s"], env, tmp_path).stdout.splitlines()
    assert len(full) == 11 and full == sorted(full)
    shards = []
    for i in (1, 2, 3):
        out = run(harness, ["list", "--shard", "%d/3" % i, "s"], env, tmp_path)
        assert out.returncode == 0
        again = run(harness, ["list", "--shard=%d/3" % i, "s"], env, tmp_path)
        assert out.stdout == again.stdout
        shards.append(out.stdout.splitlines())
    assert shards[0] == full[0::3] and shards[1] == full[1::3] and shards[2] == full[2::3]
    assert sorted(shards[0] + shards[1] + shards[2]) == full
    assert not set(shards[0]) & set(shards[1]) and not set(shards[1]) & set(shards[2])
    # -k applies first, then the shard.
    k = run(harness, ["list", "-k", "d1/", "s"], env, tmp_path).stdout.splitlines()
    ks = run(harness, ["list", "-k", "d1/", "--shard", "2/2", "s"], env,
             tmp_path).stdout.splitlines()
    assert ks == k[1::2]
    # 1/1 is everything.
    assert run(harness, ["list", "--shard", "1/1", "s"], env, tmp_path).stdout.splitlines() == full


# ---- results and reports -----------------------------------------------------

def test_check_reports_parse_errors_with_file_line_col(harness, env, tmp_path, suite):
    r = run(harness, ["check", "s"], env, tmp_path)
    assert r.returncode == 1
    assert r.stderr.splitlines()[0].startswith("s/other/d-parse.scn:2:1: error: ")
    assert "cfg.raed" in r.stderr
    assert r.stderr.splitlines()[-1] == "5 scenarios checked, 1 with errors"
    r = run(harness, ["check", "-v", "-k", "pass", "s"], env, tmp_path)
    assert r.returncode == 0
    assert r.stdout == "ok  s/dev/a-pass.scn\nok  s/other/e-pass.scn\n"
    assert fake_log(env) == []


def test_run_result_lines_and_summary(harness, env, tmp_path, suite):
    r = run(harness, ["run", "s"], env, tmp_path)
    assert r.returncode == 1, r.stderr
    out = TIMES.sub("T", r.stdout)
    lines = out.splitlines()
    assert lines[0] == "PASS  s/dev/a-pass.scn  T"
    assert lines[1] == "FAIL  s/dev/b-fail.scn  T"
    assert lines[2] == "      s/dev/b-fail.scn:7:3: expectation failed: cfg.read vf0 0 4"
    assert lines[3] == "        expected: 0x1"
    assert lines[4] == "        actual:   0x2"
    assert "PASS  s/dev/c-skip.scn  T  (2 steps skipped)" in lines
    i = lines.index("FAIL  s/other/d-parse.scn  T")
    assert lines[i + 1].startswith("      s/other/d-parse.scn:2:1: error: ")
    assert "PASS  s/other/e-pass.scn  T" in lines
    assert "5 scenarios: 3 passed, 2 failed" in lines
    assert "  skipped steps  2 (in 1 scenario)" in lines
    assert "  failed         s/dev/b-fail.scn" in lines
    # The parse error started no process; the others one each, in order.
    assert [e[1] for e in fake_log(env)] == [n for n in NAMES if "parse" not in n]
    assert_clean(env, tmp_path)


def test_verbose_shows_output_and_skipped_steps(harness, env, tmp_path, suite):
    r = run(harness, ["run", "-v", "-k", "pass", "-k", "skip", "s"], env, tmp_path)
    assert r.returncode == 0, r.stdout
    assert "      | hello from e" in r.stdout
    assert "      skipped: line 4: device-side step (host backend)" in r.stdout
    assert "      skipped: line 9: expect.msi after a skipped device step" in r.stdout
    r = run(harness, ["run", "-k", "pass", "s"], env, tmp_path)
    assert "hello from e" not in r.stdout


def test_junit_is_valid_and_complete(harness, env, tmp_path, suite):
    scn(tmp_path / "s" / "other" / "f&<'\"ctl.scn", "stderr bell\\x07 esc\\x1b[31m bad\\xff\\xfe end",
        "fail 2:1 got <\\x01> & more")
    r = run(harness, ["run", "--junit", "out.xml", "s"], env, tmp_path)
    assert r.returncode == 1
    root = ET.parse(tmp_path / "out.xml").getroot()
    assert root.tag == "testsuites"
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("6", "3", "0")
    suites = root.findall("testsuite")
    assert len(suites) == 1 and suites[0].get("tests") == "6"
    cases = suites[0].findall("testcase")
    assert [(c.get("classname"), c.get("name")) for c in cases] == [
        ("s/dev", "a-pass.scn"), ("s/dev", "b-fail.scn"), ("s/dev", "c-skip.scn"),
        ("s/other", "d-parse.scn"), ("s/other", "e-pass.scn"),
        ("s/other", "f&<'\"ctl.scn")]
    for c in cases:
        float(c.get("time"))
    failed = {c.get("name"): c.find("failure") for c in cases if c.find("failure") is not None}
    assert set(failed) == {"b-fail.scn", "d-parse.scn", "f&<'\"ctl.scn"}
    f = failed["b-fail.scn"]
    assert f.get("message") == "s/dev/b-fail.scn:7:3: expectation failed: cfg.read vf0 0 4"
    assert f.text.splitlines() == [f.get("message"), "  expected: 0x1", "  actual:   0x2"]
    assert failed["d-parse.scn"].get("message").startswith("s/other/d-parse.scn:2:1: error: ")
    # Control characters and bad UTF-8 are written as \xNN, the rest escaped.
    weird = cases[5]
    assert failed["f&<'\"ctl.scn"].get("message") == \
        "s/other/f&<'\"ctl.scn:2:1: got <\\x01> & more"
    assert weird.find("system-err").text == "bell\\x07 esc\\x1b[31m bad\\xff\\xfe end\n"
    skip = cases[2]
    props = [(p.get("name"), p.get("value")) for p in skip.find("properties")]
    assert ("skipped-step", "line 4: device-side step (host backend)") in props
    assert ("steps", "3") in props and ("ops", "7") in props
    # The executor's own time, from its "stats ... seconds=" line.
    assert ("exec_seconds", "0.001") in props
    assert "line 9: expect.msi after a skipped device step" in skip.find("system-out").text
    assert cases[4].find("system-out").text == "hello from e\n"
    assert cases[0].find("failure") is None and cases[0].find("skipped") is None
    assert not os.path.exists(tmp_path / "out.xml.tmp")


def test_tap(harness, env, tmp_path, suite):
    r = run(harness, ["run", "--tap", "s"], env, tmp_path)
    assert r.returncode == 1
    lines = r.stdout.splitlines()
    assert lines[:2] == ["TAP version 13", "1..5"]
    tests = [l for l in lines if re.match(r"(not )?ok \d+ ", l)]
    assert tests == ["ok 1 - s/dev/a-pass.scn", "not ok 2 - s/dev/b-fail.scn",
                     "ok 3 - s/dev/c-skip.scn", "not ok 4 - s/other/d-parse.scn",
                     "ok 5 - s/other/e-pass.scn"]
    i = lines.index("not ok 2 - s/dev/b-fail.scn")
    assert lines[i + 1] == "  ---"
    assert '  message: "s/dev/b-fail.scn:7:3: expectation failed: cfg.read vf0 0 4"' in \
        lines[i + 1:lines.index("  ...", i)]
    # Every YAML block is closed; the summary went to stderr.
    assert lines.count("  ---") == lines.count("  ...") == 5
    assert "5 scenarios: 3 passed, 2 failed" in r.stderr
    assert "PASS" not in r.stdout


def test_parallel_gives_the_same_report_as_serial(harness, env, tmp_path):
    # Finishing times differ from suite order: later ones finish first.
    for i in range(6):
        scn(tmp_path / "s" / ("p%d.scn" % i), "sleep %.1f" % ((5 - i) * 0.1),
            *(["fail 3:1 nope %d" % i] if i % 2 else []))

    def norm(r, xml):
        text = (tmp_path / xml).read_text()
        text = re.sub(r'(time|timestamp)="[^"]*"', "", text)
        out = re.sub(r"\n  time .*\n", "\n", TIMES.sub("T", r.stdout))
        out = re.sub(r"\n  slowest.*?\n  failed", "\n  failed", out, flags=re.S)
        return out, text

    serial = run(harness, ["run", "--junit", "a.xml", "s"], env, tmp_path)
    par = run(harness, ["run", "-j", "3", "--junit", "b.xml", "s"], env, tmp_path)
    par2 = run(harness, ["run", "-j6", "--junit", "c.xml", "s"], env, tmp_path)
    assert serial.returncode == par.returncode == par2.returncode == 1
    assert norm(serial, "a.xml") == norm(par, "b.xml") == norm(par2, "c.xml")
    assert "-j 3;" in par.stdout
    tap1 = run(harness, ["run", "--tap", "s"], env, tmp_path)
    tap3 = run(harness, ["run", "--tap", "-j", "3", "s"], env, tmp_path)
    strip = lambda s: re.sub(r"duration_ms: \d+", "", s)
    assert strip(tap1.stdout) == strip(tap3.stdout)
    assert_clean(env, tmp_path)


def test_timeout_kills_the_process_group(harness, env, tmp_path):
    scn(tmp_path / "s" / "slow.scn", "sleep 100")
    scn(tmp_path / "s" / "zfast.scn")
    r = run(harness, ["run", "--timeout", "1", "--junit", "j.xml", "s"], env, tmp_path)
    assert r.returncode == 1
    lines = TIMES.sub("T", r.stdout).splitlines()
    assert lines[:2] == ["FAIL  s/slow.scn  T", "      timed out after 1 s"]
    assert "PASS  s/zfast.scn  T" in lines
    case = ET.parse(tmp_path / "j.xml").getroot().find("testsuite/testcase")
    assert case.find("failure").get("message") == "timed out after 1 s"
    pids = os.listdir(env["FAKE_PIDDIR"])
    assert len(pids) == 1
    assert not os.path.exists("/proc/" + pids[0])
    assert_clean(env, tmp_path)


@pytest.mark.parametrize("directive,message", [
    ("crash", "the executor crashed: killed by signal 11 (Segmentation fault)"),
    ("exit 125", "exited with status 125 before finishing (fakevfio could not start?)"),
    ("exit 3", "the executor exited with status 3 before finishing"),
    ("exit 139", "the executor crashed: killed by signal 11 (Segmentation fault; "
     "fakevfio exited with status 139)"),
])
def test_executor_without_done_is_reported(harness, env, tmp_path, directive, message):
    scn(tmp_path / "s" / "x.scn", "stderr last words", "skip 3 reason", directive)
    r = run(harness, ["run", "s"], env, tmp_path)
    assert r.returncode == 1
    lines = r.stdout.splitlines()
    assert lines[1] == "      " + message
    assert lines[2] == "      output (last 20 lines):"
    assert lines[3] == "      | last words"
    assert_clean(env, tmp_path)


def test_protocol_done_pass_with_bad_exit_status_fails(harness, env, tmp_path):
    fake = tmp_path / "fake2"
    fake.write_text("#!/bin/sh\necho 'done pass' >&3\nexit 4\n")
    fake.chmod(0o755)
    scn(tmp_path / "s" / "x.scn")
    env["VFIO_HARNESS_FAKEVFIO"] = str(fake)
    r = run(harness, ["run", "s"], env, tmp_path)
    assert r.returncode == 1
    assert r.stdout.splitlines()[1] == \
        "      the executor reported a pass, then exited with status 4"


def test_missing_fakevfio_is_a_setup_error(harness, env, tmp_path):
    scn(tmp_path / "s" / "x.scn")
    env["VFIO_HARNESS_FAKEVFIO"] = str(tmp_path / "nothere")
    r = run(harness, ["run", "s"], env, tmp_path)
    assert r.returncode == 2
    assert "cannot run fakevfio at %s" % (tmp_path / "nothere") in r.stderr


def test_trace_dir_keeps_one_trace_per_scenario(harness, env, tmp_path):
    scn(tmp_path / "s" / "a" / "x.scn")
    scn(tmp_path / "s" / "b.scn", "fail 1:1 no")
    r = run(harness, ["run", "--trace", "traces", "s"], env, tmp_path)
    assert r.returncode == 1
    assert sorted(os.listdir(tmp_path / "traces")) == ["s_a_x.scn.trace", "s_b.scn.trace"]
    assert "op=open" in (tmp_path / "traces" / "s_b.scn.trace").read_text()
    assert [e[2] for e in fake_log(env)] == ["traces/s_a_x.scn.trace", "traces/s_b.scn.trace"]
    assert_clean(env, tmp_path)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_signal_stops_children_and_reports(harness, env, tmp_path, sig):
    scn(tmp_path / "s" / "a.scn")
    scn(tmp_path / "s" / "b.scn", "sleep 100")
    scn(tmp_path / "s" / "c.scn", "sleep 100")
    scn(tmp_path / "s" / "d.scn")
    p = subprocess.Popen([harness, "run", "-j", "2", "--junit", "j.xml", "s"], cwd=tmp_path,
                         env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 30
    while len(os.listdir(env["FAKE_PIDDIR"])) < 2:
        assert time.monotonic() < deadline and p.poll() is None, \
            (p.poll(), os.listdir(env["FAKE_PIDDIR"]), fake_log(env))
        time.sleep(0.05)
    p.send_signal(sig)
    out, err = p.communicate(timeout=30)
    assert p.returncode == 128 + sig
    lines = TIMES.sub("T", out).splitlines()
    assert lines[0] == "PASS  s/a.scn  T"
    name = "SIGINT" if sig == signal.SIGINT else "SIGTERM"
    assert "STOP  s/b.scn  T  (interrupted (%s))" % name in lines
    assert "  interrupted    by %s" % name in lines
    assert "4 scenarios: 1 passed, 0 failed, 3 not run" in lines
    cases = ET.parse(tmp_path / "j.xml").getroot().findall("testsuite/testcase")
    assert [c.find("skipped") is not None for c in cases] == [False, True, True, True]
    for pid in os.listdir(env["FAKE_PIDDIR"]):
        assert not os.path.exists("/proc/" + pid)
    assert sorted(e[1] for e in fake_log(env)) == ["s/a.scn", "s/b.scn", "s/c.scn"]
    assert_clean(env, tmp_path)


def test_progress_line_only_on_a_terminal(harness, env, tmp_path, suite):
    r = run(harness, ["run", "s"], env, tmp_path)
    assert "\r" not in r.stderr and "running" not in r.stderr
    pty = pytest.importorskip("pty")
    master, slave = pty.openpty()
    p = subprocess.Popen([harness, "run", "s"], cwd=tmp_path, env=env,
                         stdout=subprocess.PIPE, stderr=slave)
    os.close(slave)
    out, _ = p.communicate(timeout=60)
    err = b""
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:
            break
        if not chunk:
            break
        err += chunk
    os.close(master)
    assert p.returncode == 1
    assert re.search(rb"\[ ?\d/5\] \d running, \d failed  s/", err)
    assert err.endswith(b"\r\x1b[K")          # erased at the end
    assert b"\x1b" not in out


# ---- the real executor and fakevfio -------------------------------------------

@pytest.fixture
def real_env(tmp_path, build):
    if not (build / "bin" / "fakevfio").exists():
        pytest.fail("fakevfio is not built")
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    e = dict(os.environ)
    e.pop("VFIO_HARNESS_FAKEVFIO", None)
    e["TMPDIR"] = str(tmp)
    return e


def test_real_pass_and_fail(harness, real_env, tmp_path):
    write(tmp_path / "r" / "ok.scn", """\
        device vf0 dma-test
        attach vf0
        cfg.read vf0 PCI_VENDOR_ID 2 == 0x1b36
        """)
    write(tmp_path / "r" / "bad.scn", """\
        device vf0 dma-test
        attach vf0
        cfg.read vf0 PCI_VENDOR_ID 2 == 0x1234
        """)
    r = run(harness, ["run", "-j", "2", "--junit", "j.xml", "r"], real_env, tmp_path)
    assert r.returncode == 1, r.stdout + r.stderr
    lines = TIMES.sub("T", r.stdout).splitlines()
    assert lines[0] == "FAIL  r/bad.scn  T"
    assert lines[1].startswith("      r/bad.scn:3:")
    assert "PASS  r/ok.scn  T" in lines
    assert os.listdir(real_env["TMPDIR"]) == []


def test_real_timeout(harness, real_env, tmp_path):
    write(tmp_path / "r" / "long.scn", "device vf0 dma-test\nattach vf0\nstep 100000\n")
    r = run(harness, ["run", "--timeout", "1", "r"], real_env, tmp_path)
    assert r.returncode == 1
    assert r.stdout.splitlines()[1] == "      timed out after 1 s"
    assert os.listdir(real_env["TMPDIR"]) == []


def test_real_host_backend_without_vfio(harness, real_env, tmp_path):
    if os.path.exists("/dev/vfio/vfio"):
        pytest.skip("this machine has VFIO")
    write(tmp_path / "r" / "h.scn", """\
        device vf0 dma-test host=0000:03:00.0
        device.intx vf0 1
        attach vf0
        expect.intx vf0 level=1
        """)
    r = run(harness, ["run", "--backend", "host", "--map", "vf0=0000:07:00.0", "-v",
                      "--junit", "j.xml", "r"], real_env, tmp_path)
    assert r.returncode == 1
    lines = r.stdout.splitlines()
    assert lines[0].startswith("FAIL  r/h.scn  ")
    assert lines[0].endswith("(1 step skipped)")
    assert lines[1].startswith("      r/h.scn:3:")      # the attach fails, clearly
    assert any(l.startswith("      skipped: line 2: ") for l in lines), lines
    assert "crashed" not in r.stdout and "before finishing" not in r.stdout
    case = ET.parse(tmp_path / "j.xml").getroot().find("testsuite/testcase")
    assert case.find("failure") is not None


def test_process_left_in_the_group_is_killed(harness, env, tmp_path):
    # The executor exits, its pipes close, but a process of its group
    # lives on: the runner kills it before it reaps the executor.
    scn(tmp_path / "s" / "a.scn", "orphan")
    r = run(harness, ["run", "s"], env, tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    pid = (pathlib.Path(env["FAKE_PIDDIR"]) / "orphan").read_text()
    deadline = time.monotonic() + 10
    while os.path.exists("/proc/" + pid) and time.monotonic() < deadline:
        # SIGKILLed, then reaped by init: a zombie for a moment at most.
        if open("/proc/%s/stat" % pid).read().split(") ")[1][0] == "Z":
            break
        time.sleep(0.05)
    alive = os.path.exists("/proc/" + pid) and \
        open("/proc/%s/stat" % pid).read().split(") ")[1][0] != "Z"
    assert not alive
    assert_clean(env, tmp_path)


def test_megabytes_of_output(harness, env, tmp_path):
    # 3 MiB on stdout: nothing blocks, the report keeps the end (1 MiB at
    # most) and says how much of the start it cut.
    scn(tmp_path / "s" / "a.scn", "bigout 3", "fail 2:1 after the output")
    r = run(harness, ["run", "--junit", "j.xml", "s"], env, tmp_path)
    assert r.returncode == 1
    assert r.stdout.splitlines()[1] == "      s/a.scn:2:1: after the output"
    out = ET.parse(tmp_path / "j.xml").getroot().find("testsuite/testcase/system-out").text
    m = re.match(r"\[\.\.\. (\d+) bytes cut \.\.\.\]\n", out)
    assert m, out[:100]
    kept = out[m.end():]
    assert int(m.group(1)) + len(kept) == 3 * 1024 * 1024 + len("the end\n")
    assert len(kept) <= 1024 * 1024 and kept.endswith("x\nthe end\n")


def test_tap_yaml_is_valid_utf8(harness, env, tmp_path):
    # Invalid UTF-8 in the output becomes \xNN in the YAML block; valid
    # UTF-8 stays as it is.
    scn(tmp_path / "s" / "a#b.scn", "stderr bad\\xff\\xfe \\xc3\\xa9 end", "exit 3")
    r = subprocess.run([harness, "run", "--tap", "s"], cwd=tmp_path, env=env,
                       capture_output=True, timeout=60)
    assert r.returncode == 1
    lines = r.stdout.decode("utf-8").splitlines()     # raises on invalid UTF-8
    assert lines[2] == "not ok 1 - s/a_b.scn"
    assert '  output: "bad\\xff\\xfe \u00e9 end\\n"' in lines, lines


# ---- protocol edge cases, with a shell executor ---------------------------

@pytest.mark.parametrize("body,lines", [
    ("printf 'bogus\\ndone pass\\n' >&3",
     ["FAIL  s/x.scn  TIME",
      "      the executor wrote a result line the runner does not understand",
      "        unexpected result line from the executor: 'bogus'"]),
    # only the first line it does not understand is shown; a second fail is one
    ("printf 'skip x\\nfail 2:1 a\\nfail 3:1 b\\ndone fail\\n' >&3; exit 1",
     ["FAIL  s/x.scn  TIME", "      s/x.scn:2:1: a",
      "        unexpected result line from the executor: 'skip x'"]),
    ("printf 'done fail\\n' >&3; exit 1",
     ["FAIL  s/x.scn  TIME",
      "      failed without a message (the executor exited with status 1)"]),
    ("printf 'fail 3:1 boom\\n' >&3; exit 3",
     ["FAIL  s/x.scn  TIME", "      the executor exited with status 3 before finishing",
      "        it had reported: s/x.scn:3:1: boom"]),
    # the last line without its newline still counts
    ("printf 'stats steps=1 skipped=0 ops=1 seconds=0.001\\ndone pass' >&3",
     ["PASS  s/x.scn  TIME"]),
    ("printf 'fail 3:1 boom\\n' >&3; exec sleep 5",
     ["FAIL  s/x.scn  TIME", "      timed out after 0.3 s",
      "        it had reported: s/x.scn:3:1: boom"]),
])
def test_protocol_edge_cases(harness, env, tmp_path, body, lines):
    fake = tmp_path / "fake-sh"
    fake.write_text("#!/bin/sh\n" + body + "\n")
    fake.chmod(0o755)
    scn(tmp_path / "s" / "x.scn")
    env["VFIO_HARNESS_FAKEVFIO"] = str(fake)
    r = run(harness, ["run", "--timeout", "0.3", "s"], env, tmp_path)
    out = TIMES.sub("TIME", r.stdout).splitlines()
    assert out[:len(lines) + 1] == lines + [""], r.stdout
    assert r.returncode == (0 if lines[0].startswith("PASS") else 1)
    assert os.listdir(env["TMPDIR"]) == []


def test_setup_errors_exit_2(harness, env, tmp_path):
    scn(tmp_path / "s" / "x.scn")
    r = run(harness, ["run", "--trace", str(tmp_path / "no" / "t"), "s"], env, tmp_path)
    assert (r.returncode, r.stdout, r.stderr) == (
        2, "", f"vfio-harness: --trace {tmp_path}/no/t: No such file or directory\n")
    env["TMPDIR"] = str(tmp_path / "none")
    r = run(harness, ["run", "s"], env, tmp_path)
    assert r.returncode == 2 and r.stdout == ""
    assert re.fullmatch(rf"vfio-harness: cannot create a directory {tmp_path}/none/"
                        r"vfio-harness\.\w{6}: No such file or directory\n", r.stderr), r.stderr
    for cmd in ("run", "list"):
        r = run(harness, [cmd, "/dev/null"], env, tmp_path)
        assert (r.returncode, r.stdout, r.stderr) == (
            2, "", "vfio-harness: /dev/null: not a file or a directory\n")
    assert fake_log(env) == []
