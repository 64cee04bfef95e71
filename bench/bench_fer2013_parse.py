"""FER2013 parse benchmark: the original loader's approach vs `ccyclegan.data.fer2013.read_fer2013`, in one run.

Writes a full-size FER2013 CSV (35,887 rows, the real header, split sizes and row format; random pixels) to a temp
dir, then times each way of loading it in a fresh subprocess, so that each case starts with the same cold process
and its peak memory is its own:

  original-style   pandas.read_csv, then per row np.array(pixels.split(' '), dtype='float32') and x / 127.5 - 1
                   (the original data_loader, without its extra float64 RGB copies)
  reader, cold     read_fer2013(path, cache=False): same float32 [-1, 1] output
  reader, 1st load read_fer2013(path): parses and writes the .npz cache
  reader, cached   read_fer2013(path) again (float32), and with normalize=False (uint8, what trainers use)

Each case runs --repeats times (each in a new process) and the fastest run is reported, for every case alike, since
other work on a shared machine only ever makes a run slower.

Usage: python bench/bench_fer2013_parse.py [--rows 35887] [--repeats 2] [--dir DIR] [--keep]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time

REAL_SPLITS = (("Training", 28709), ("PublicTest", 3589), ("PrivateTest", 3589))


def write_fer2013_csv(path: str, rows: int, seed: int = 0) -> None:
    """A CSV in the exact FER2013 format: header `emotion,pixels,Usage`, splits in file order, real proportions."""
    import numpy as np

    rng = np.random.default_rng(seed)
    total = sum(n for _, n in REAL_SPLITS)
    usages = []
    for name, n in REAL_SPLITS:
        usages += [name] * round(n * rows / total)
    usages = (usages + [REAL_SPLITS[0][0]] * rows)[:rows]
    numbers = np.array([str(i).encode() for i in range(256)], dtype=object)
    with open(path, "wb") as file:
        file.write(b"emotion,pixels,Usage\n")
        for usage in usages:
            pixels = b" ".join(numbers[rng.integers(0, 256, 48 * 48)])
            file.write(b"%d,%s,%s\n" % (rng.integers(0, 7), pixels, usage.encode()))


def original_style(path: str) -> int:
    """The original loader's approach: pandas, then a per-row split and float conversion."""
    import numpy as np
    import pandas as pd

    frame = pd.read_csv(path)
    images = np.array([np.array(p.split(" "), dtype="float32").reshape(48, 48, 1) for p in frame["pixels"]])
    images = images / 127.5 - 1
    train = images[frame["Usage"].to_numpy() == "Training"]
    test = images[frame["Usage"].to_numpy() != "Training"]
    return len(train) + len(test)


def reader(path: str, **options) -> int:
    from ccyclegan.data.fer2013 import read_fer2013

    data = read_fer2013(path, **options)
    return len(data.train) + len(data.public_test) + len(data.private_test)


CASES = {
    "original-style": lambda path: original_style(path),
    "reader, cold": lambda path: reader(path, cache=False),
    "reader, 1st load": lambda path: reader(path),
    "reader, cached": lambda path: reader(path),
    "reader, cached uint8": lambda path: reader(path, normalize=False),
}


def _rss_mb() -> float:
    with open("/proc/self/statm") as file:
        return int(file.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def run_case(name: str, path: str) -> None:
    """Child process: import what the case needs, then time it; print one JSON line."""
    import numpy  # noqa: F401
    import pandas  # noqa: F401

    import ccyclegan.data.fer2013  # noqa: F401

    baseline = _rss_mb()
    start = time.perf_counter()
    rows = CASES[name](path)
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    print(json.dumps({"rows": rows, "seconds": seconds, "peak_mb": peak, "extra_mb": peak - baseline}))


def measure(name: str, path: str) -> dict:
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = dict(os.environ, PYTHONPATH=repo + os.pathsep + os.environ.get("PYTHONPATH", ""), TF_CPP_MIN_LOG_LEVEL="2")
    result = subprocess.run([sys.executable, os.path.abspath(__file__), "--case", name, path],
                            capture_output=True, text=True, env=env, check=False)
    if result.returncode != 0:
        raise SystemExit(f"case {name!r} failed:\n{result.stderr}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=35887, help="rows to write (the real file has 35,887)")
    parser.add_argument("--dir", help="where to write the CSV (default: a temp dir, removed afterwards)")
    parser.add_argument("--keep", action="store_true", help="keep the written CSV and cache")
    parser.add_argument("--repeats", type=int, default=2, help="runs per case; the fastest is reported")
    parser.add_argument("--case", help=argparse.SUPPRESS)
    parser.add_argument("path", nargs="?", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.case:
        run_case(args.case, args.path)
        return

    folder = args.dir or tempfile.mkdtemp(prefix="bench_fer2013_")
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, "fer2013.csv")
    try:
        start = time.perf_counter()
        write_fer2013_csv(path, args.rows)
        print(f"wrote {path}: {args.rows} rows, {os.path.getsize(path) / 1e6:.1f} MB "
              f"in {time.perf_counter() - start:.1f} s")
        from ccyclegan.data.fer2013 import cache_path

        results = {}
        for name in CASES:
            if name == "reader, 1st load" and os.path.exists(cache_path(path)):
                os.remove(cache_path(path))
            runs = [measure(name, path) for _ in range(1 if name == "reader, 1st load" else args.repeats)]
            results[name] = min(runs, key=lambda r: r["seconds"])
        baseline = results["original-style"]["seconds"]
        print(f"\n{'case':<22}{'seconds':>9}{'rows/s':>10}{'speed-up':>10}{'peak RSS MB':>13}{'+ over imports':>16}")
        for name, r in results.items():
            print(f"{name:<22}{r['seconds']:>9.3f}{r['rows'] / r['seconds']:>10.0f}{baseline / r['seconds']:>9.1f}x"
                  f"{r['peak_mb']:>13.0f}{r['extra_mb']:>16.0f}")
        cold = results["reader, cold"]
        print(f"\nratio original-style / reader cold: {baseline / cold['seconds']:.1f}x "
              f"(target >= 5x); cached load: {results['reader, cached']['seconds']:.2f} s float32, "
              f"{results['reader, cached uint8']['seconds']:.2f} s uint8")
    finally:
        if not args.keep and not args.dir:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
