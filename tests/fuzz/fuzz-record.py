# SPDX-License-Identifier: GPL-2.0-or-later
"""Mutation fuzzer for `vfio-harness record` (run by hand, not by CI).

    python3 tests/fuzz/fuzz-record.py --bin build/cc-san/bin/vfio-harness \
        --seeds DIR_OF_TRACES --count 50000 --jobs 2 --out /tmp/fz/found

Mutates real fakevfio traces (line, word and byte level, plus splices of
lines from other seeds), runs `record` on each mutant, and keeps every
mutant that
  * makes record crash, or print a sanitizer report (ASan, UBSan, LSan),
  * makes record exit with anything but 0 or 1, or exit 1 without a
    `vfio-harness record: FILE:LINE:` message, or exit 0 with stderr,
  * yields (exit 0) a scenario that `vfio-harness check` rejects.
Deterministic for a given --seed.  Prints a count per outcome at the end.
"""
import argparse
import concurrent.futures
import os
import pathlib
import random
import subprocess
import sys
import tempfile

INTERESTING = [
    "0", "1", "-1", "0x", "0xffffffffffffffff", "18446744073709551616",
    "99999999999999999999999", "-EBUSY", "-E", "-4096", "-4095", "=", "",
    "%", "%4", "%zz", "%00", "0000:03:00.0", "ffff:ff:1f.7", "03:00.0",
    "CONFIG", "BAR0", "BAR5", "ROM", "VGA", "REGION9", "REGION99999999999",
    "REGION-1", "VFIO_GROUP_GET_DEVICE_FD", "VFIO_DEVICE_SET_IRQS",
    "VFIO_DEVICE_PCI_HOT_RESET", "VFIO_IOMMU_MAP_DMA", "VFIO_SET_IOMMU",
    "VFIO_IOMMU_SPAPR_REGISTER_MEMORY", "VFIO_GROUP_SET_CONTAINER",
    "0x7fffffffffff", "0xfffffffffffff000", "4294967296", "65536", "65537",
    "ffffffff", "00" * 64, "00" * 65, "0" * 3, "container:1", "group:100",
    "device:0000:03:00.0", "device:", "group:", "container:x", "1.000000",
    "99999999999999999.000000", "0.0000001",
]
KEYS = ["t", "pid", "obj", "op", "name", "ret", "us", "argsz", "flags", "count",
        "index", "start", "vaddr", "iova", "size", "region", "offset", "data",
        "crc32", "injected", "efault", "truncated", "fd", "arg", "cmd",
        "page_shift", "window_size", "levels", "start_addr"]


def mutate_word(rng, w):
    if "=" not in w or rng.random() < 0.1:
        return rng.choice(KEYS) + "=" + rng.choice(INTERESTING)
    k, v = w.split("=", 1)
    c = rng.randrange(6)
    if c == 0:
        return k + "=" + rng.choice(INTERESTING)
    if c == 1:
        return rng.choice(KEYS) + "=" + v
    if c == 2 and v:
        i = rng.randrange(len(v))
        return k + "=" + v[:i] + chr(rng.randrange(1, 256)) + v[i + 1:]
    if c == 3:
        return k + "=" + v * rng.randrange(2, 40)
    if c == 4:
        try:
            n = int(v, 0)
            return k + "=" + hex(n + rng.choice([-1, 1, 4096, 1 << 32, -(1 << 12)]))
        except ValueError:
            return k + "=" + v[:-1]
    return w + " " + rng.choice(KEYS) + "=" + rng.choice(INTERESTING)


def mutate(rng, lines, pool):
    lines = list(lines)
    for _ in range(rng.randrange(1, 5)):
        if not lines:
            lines = ["# fakevfio trace v1"]
        c = rng.randrange(10)
        i = rng.randrange(len(lines))
        if c <= 3:
            ws = lines[i].split(" ")
            j = rng.randrange(len(ws))
            ws[j] = mutate_word(rng, ws[j])
            lines[i] = " ".join(ws)
        elif c == 4:
            del lines[i]
        elif c == 5:
            lines.insert(i, lines[rng.randrange(len(lines))])
        elif c == 6:
            lines.insert(i, rng.choice(pool))
        elif c == 7:
            j = rng.randrange(len(lines))
            lines[i], lines[j] = lines[j], lines[i]
        elif c == 8:
            b = bytearray(lines[i].encode("latin-1", "replace"))
            if b:
                b[rng.randrange(len(b))] = rng.randrange(256)
            lines[i] = b.decode("latin-1")
        else:
            ws = lines[i].split(" ")
            if len(ws) > 1:
                del ws[rng.randrange(len(ws))]
            lines[i] = " ".join(ws)
    return lines


SEEDS, POOL, TMP = [], [], None


def run_one(args):
    binary, n, seed, outdir = args
    rng = random.Random(seed * 10_000_000 + n)
    lines = mutate(rng, rng.choice(SEEDS), POOL)
    path = os.path.join(TMP, f"m{n:06d}.trace")
    with open(path, "w", encoding="latin-1", errors="replace") as f:
        f.write("\n".join(lines) + ("\n" if rng.random() < 0.9 else ""))
    env = dict(os.environ, ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:exitcode=99",
               UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:exitcode=98")
    scn = path + ".scn"
    r = subprocess.run([binary, "record", "-o", scn, path], capture_output=True,
                       env=env, timeout=60)
    err = r.stderr.decode("latin-1")
    why = None
    if r.returncode < 0 or r.returncode not in (0, 1):
        why = f"record exit {r.returncode}"
    elif "Sanitizer" in err or "runtime error" in err:
        why = "sanitizer"
    elif r.returncode == 1 and "vfio-harness record: " not in err:
        why = "exit 1 without a message"
    elif r.returncode == 0 and err:
        why = "exit 0 with stderr"
    elif r.returncode == 0:
        c = subprocess.run([binary, "check", scn], capture_output=True, env=env, timeout=60)
        if c.returncode != 0:
            why = "check rejects: " + c.stderr.decode("latin-1").splitlines()[0]
    out = "ok0" if r.returncode == 0 and not why else "ok1" if not why else why
    if why:
        keep = pathlib.Path(outdir) / (pathlib.Path(path).name)
        keep.write_bytes(pathlib.Path(path).read_bytes())
        keep.with_suffix(".err").write_text(why + "\n" + err)
    for p in (path, scn):
        try:
            os.unlink(p)
        except FileNotFoundError:
            pass
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--seeds", required=True)
    ap.add_argument("--count", type=int, default=50000)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    global TMP
    SEEDS.extend(p.read_text(errors="replace").splitlines()
                 for p in sorted(pathlib.Path(a.seeds).glob("*.trace")))
    POOL.extend(l for s in SEEDS for l in s)
    os.makedirs(a.out, exist_ok=True)
    TMP = tempfile.mkdtemp(prefix="fuzz-record.")
    counts = {}
    with concurrent.futures.ThreadPoolExecutor(a.jobs) as ex:
        jobs = ((a.bin, n, a.seed, a.out) for n in range(a.count))
        # map() would submit every job at once: feed it in chunks.
        chunk = 1000
        done = 0
        while done < a.count:
            part = [next(jobs) for _ in range(min(chunk, a.count - done))]
            for res in ex.map(run_one, part):
                done += 1
                key = res.split(":")[0]
                counts[key] = counts.get(key, 0) + 1
                if done % 5000 == 0:
                    print(done, counts, flush=True)
    print("total", a.count, counts)
    os.rmdir(TMP)
    return 0 if set(counts) <= {"ok0", "ok1"} else 1


if __name__ == "__main__":
    sys.exit(main())
