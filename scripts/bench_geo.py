#!/usr/bin/env python3
"""Benchmark npq.geo: cache build and load, lookup latencies and memory. Prints figures only.

    python scripts/bench_geo.py [--lookups 300] [--cache-dir DIR]

Without --cache-dir the cache is built in a temporary directory, so the run is always cold and
never touches var/cache.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Iterable
from functools import partial
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from npq import geo  # noqa: E402
from npq.geo import gazetteer, postcodes  # noqa: E402

SEED = 20240901
LOAD_REPEATS = 20
POSTCODE_AREAS = ("BD", "LS", "M", "B", "EH", "CF", "SW", "E", "NE", "PL")
SENTENCES = (
    "Is there a hub near Keighley?",
    "anything close to LS6 3QS",
    "I'm a teacher in Stoke on Trent",
    "near Keigley please",
    "What's the difference between NPQLT and NPQLTD?",
    "Hi, I'm Keith from Leeds",
    "I've been reading about NPQSL",
    "which hub for NPQEYL covers Brighton & Hove?",
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lookups", type=int, default=300, help="lookups per measurement")
    parser.add_argument("--cache-dir", type=Path, help="cache directory (default: a temp dir)")
    args = parser.parse_args()
    if args.cache_dir:
        run(args.cache_dir, args.lookups)
    else:
        with tempfile.TemporaryDirectory(prefix="npq-geo-bench-") as folder:
            run(Path(folder), args.lookups)


def run(cache_dir: Path, lookups: int) -> None:
    os.environ[gazetteer.CACHE_ENV] = str(cache_dir)  # every lookup below uses this directory
    geo.clear_caches()
    rng = random.Random(SEED)

    path = gazetteer.cache_path(cache_dir)
    path.unlink(missing_ok=True)
    build = timed(lambda: geo.warm_cache(cache_dir))
    print(f"cache file             {path.name}, {path.stat().st_size / 1024:.0f} KiB")
    print(f"cold cache build       {build * 1000:8.1f} ms")
    loads = [timed(lambda: gazetteer.load_gazetteer(cache_dir)) for _ in range(LOAD_REPEATS)]
    median = statistics.median(loads) * 1000
    print(f"warm cache load        {median:8.1f} ms (median of {LOAD_REPEATS})")
    geo.clear_caches()
    print(f"first exact lookup     {timed(lambda: geo.resolve_place('Keighley')) * 1000:8.1f} ms")
    print(f"first fuzzy lookup     {timed(lambda: geo.resolve_place('Keigley')) * 1000:8.1f} ms")

    towns = [t.name for t in gazetteer.gazetteer().towns]
    exact = rng.sample(towns, lookups)
    typos = [misspell(name, rng) for name in rng.sample(towns, lookups)]
    report("resolve_place exact", geo.resolve_place, exact)
    report("resolve_place typo", geo.resolve_place, typos)
    report("find_place_in_text", geo.find_place_in_text, cycle(SENTENCES, lookups))

    full, outward = sample_postcodes(rng, lookups)
    geo.clear_caches()
    gazetteer.gazetteer()
    first_area = [timed(partial(geo.resolve_postcode, f"{a}1")) for a in POSTCODE_AREAS]
    print(
        f"resolve_postcode, first in an area (reads its CSV): mean "
        f"{statistics.mean(first_area) * 1000:.1f} ms over {len(first_area)} areas"
    )
    report("resolve_postcode full", geo.resolve_postcode, full)
    report("resolve_postcode outcode", geo.resolve_postcode, outward)

    memory(full[:50])
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    print(f"peak RSS, this process (cold build included) {peak_kib / 1024:.0f} MiB")
    print(f"peak RSS, a fresh process using the warm cache {serving_rss(cache_dir):.0f} MiB")


# ru_maxrss would carry this process's peak over fork and exec; VmHWM is the child's own.
SERVING = """
import sys
sys.path.insert(0, sys.argv[1])
from npq import geo
for text in ("Keighley", "Keigley", "hub near LS6 3QS", "BD21 1AA", "EH1", "CF10 1AA", "B1"):
    geo.resolve_place(text)
status = open("/proc/self/status").read().split("VmHWM:")[1]
print(status.split()[0])
"""


def serving_rss(cache_dir: Path) -> float:
    """Peak RSS (MiB) of a new interpreter that imports npq.geo and answers a few lookups
    (Linux only: NaN elsewhere)."""
    env = {**os.environ, gazetteer.CACHE_ENV: str(cache_dir)}
    out = subprocess.run(
        [sys.executable, "-c", SERVING, str(REPO)], env=env, capture_output=True, text=True
    )
    return int(out.stdout.strip()) / 1024 if out.returncode == 0 else float("nan")


def report(label: str, function: Callable[[str], object], inputs: Iterable[str]) -> None:
    times = sorted(timed(partial(function, x)) for x in inputs)
    p95 = times[int(len(times) * 0.95) - 1]
    print(
        f"{label:<25} mean {statistics.mean(times) * 1000:6.2f} ms   "
        f"p95 {p95 * 1000:6.2f} ms   max {times[-1] * 1000:6.2f} ms   n={len(times)}"
    )


def memory(some_postcodes: list[str]) -> None:
    """Python heap held by the gazetteer, its indexes and the postcode areas kept in memory."""
    geo.clear_caches()
    tracemalloc.start()
    geo.resolve_place("Keigley")
    geo.place_from_coordinates(53.87, -1.91)
    after_names = tracemalloc.get_traced_memory()[0]
    for area in POSTCODE_AREAS:
        geo.resolve_postcode(f"{area}1")
    for code in some_postcodes:
        geo.resolve_postcode(code)
    current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    kept = postcodes.area_points.cache_info().currsize
    print(
        f"memory: gazetteer + indexes {after_names / 2**20:.1f} MiB; with {kept} postcode "
        f"areas held {current / 2**20:.1f} MiB; peak while loading {peak / 2**20:.1f} MiB"
    )


def sample_postcodes(rng: random.Random, count: int) -> tuple[list[str], list[str]]:
    per_area = max(1, count // len(POSTCODE_AREAS))
    full: list[str] = []
    for area in POSTCODE_AREAS:
        data = postcodes.area_points(area)
        assert data is not None, area
        located = sorted(f"{o} {i}" for o, group in data.outcodes.items() for i in group)
        full += rng.sample(located, per_area)
    outward = [code.split(" ")[0] for code in full]
    return full, outward


def misspell(name: str, rng: random.Random) -> str:
    """Drop, double or swap one letter, as people do."""
    i = rng.randrange(1, max(2, len(name) - 1))
    edit = rng.choice(("drop", "double", "swap"))
    if edit == "drop":
        return name[:i] + name[i + 1 :]
    if edit == "double":
        return name[:i] + name[i] + name[i:]
    return name[: i - 1] + name[i] + name[i - 1] + name[i + 1 :]


def cycle(items: tuple[str, ...], count: int) -> list[str]:
    return [items[i % len(items)] for i in range(count)]


def timed(function: Callable[[], object]) -> float:
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


if __name__ == "__main__":
    main()
