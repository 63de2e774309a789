#!/usr/bin/env python3
"""Offline check at platform scale: the real corpus replicated to N packages (entity and index
names made unique per copy), then `schemagate check` against reading and SHA-256 hashing the
same files (`cat … | sha256sum`). Medians of --runs runs; peak RSS of check from wait4().

Usage: check_scale.py [--bin PATH] [--sizes 100,300,1000,2000] [--runs 5]
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
from registry_load import ROOT, corpus_packages, write_packages  # noqa: E402


def timed(command, **kwargs):
    """(wall seconds, peak RSS MiB) of one run."""
    started = time.monotonic()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **kwargs)
    _, _, usage = os.wait4(process.pid, 0)
    return time.monotonic() - started, usage.ru_maxrss / 1024


def measure(binary, originals, size, runs):
    directory = tempfile.mkdtemp(prefix=f"sg-check-{size}-")
    try:
        write_packages(directory, originals, size)
        files = sorted(os.path.join(root, name) for root, _, names in os.walk(directory)
                       for name in names if name == "entities.yaml")
        total = sum(os.path.getsize(f) for f in files)
        listing = os.path.join(directory, "files.txt")
        with open(listing, "w") as f:
            f.write("\n".join(files) + "\n")
        hash_command = ["sh", "-c", f"xargs cat < {listing} | sha256sum"]
        check_command = [binary, "--packages", directory, "check"]
        timed(check_command)  # warm the page cache
        hashes = [timed(hash_command)[0] for _ in range(runs)]
        checks = [timed(check_command) for _ in range(runs)]
        check_s = statistics.median(c[0] for c in checks)
        hash_s = statistics.median(hashes)
        return {"packages": size, "mib": total / 2**20, "check_s": check_s, "hash_s": hash_s,
                "ratio": check_s / hash_s, "rss_mib": max(c[1] for c in checks)}
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", default=os.path.join(ROOT, "target", "release", "schemagate"))
    parser.add_argument("--sizes", default="100,300,1000,2000")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    originals = corpus_packages(args.bin)
    results = [measure(args.bin, originals, int(size), args.runs) for size in args.sizes.split(",")]
    print("| packages | YAML MiB | check s | read + SHA-256 s | ratio | check peak RSS MiB |")
    print("|---|---|---|---|---|---|")
    for r in results:
        print(f"| {r['packages']} | {r['mib']:.1f} | {r['check_s']:.3f} | {r['hash_s']:.3f} "
              f"| {r['ratio']:.1f}× | {r['rss_mib']:.0f} |")


if __name__ == "__main__":
    sys.exit(main())
