#!/usr/bin/env python3
"""Registry and HTTP bench: seeds a fresh registry with N packages (the real corpus replicated,
entity names made unique per copy) and M changes, times the scans, then drives every page with
wrk (32 connections, after one request that renders it) and reports p50/p99 per page, the
server's RSS, and /healthz during a scan.

Usage: registry_load.py [--bin PATH] [--sizes 100,300,1000] [--changes 10000] [--seconds 10]
                        [--keep] [--pages PATTERN]
--keep leaves each seeded registry and packages directory in place (target/bench-registry-N) and a
later run with --keep reuses them, measuring only the pages; --pages runs only the pages whose label
contains PATTERN.
DATABASE_URL must name a PostgreSQL server (e.g. run under `schemagate db run -- ...`).
wrk comes from Debian (`apt-get install wrk`); the script installs it when it is missing.
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
CORPUS = os.path.abspath(os.path.join(ROOT, "..", "shared", "corpus", "metabuilder"))
TOKEN = re.compile(r"[A-Za-z0-9_]+")


def database_url(name):
    url = urllib.parse.urlsplit(os.environ["DATABASE_URL"])
    return urllib.parse.urlunsplit((url.scheme, url.netloc, "/" + name, url.query, url.fragment))


def run(binary, url, args, stdin=""):
    env = dict(os.environ, RUST_LOG="warn", DATABASE_URL=url)
    return subprocess.run([binary, *args], input=stdin, capture_output=True, text=True, env=env)


def corpus_packages(binary):
    """(id, text, entity names) of every corpus file."""
    work = tempfile.mkdtemp(prefix="sg-corpus-")
    files = sorted(f for f in os.listdir(CORPUS) if f.endswith(".yaml") and "crlf" not in f)
    for name in files:
        package = name.split("__")[0]
        target = os.path.join(work, package, "seed", "schema")
        os.makedirs(target, exist_ok=True)
        shutil.copy(os.path.join(CORPUS, name), os.path.join(target, "entities.yaml"))
    check = json.loads(subprocess.run([binary, "--packages", work, "check", "--json"],
                                      capture_output=True, text=True).stdout)
    names = {p["package"]: {e["name"] for e in p["entities"]} for p in check["packages"]}
    out = []
    for package in sorted(names):
        with open(os.path.join(work, package, "seed", "schema", "entities.yaml")) as f:
            out.append((package, f.read(), names[package]))
    shutil.rmtree(work)
    return out


def rename(text, names, copy):
    def swap(match):
        token = match.group(0)
        if token in names:
            return f"{token}C{copy}"
        if token.endswith("_idx"):
            return f"{token}_{copy}"
        return token
    return TOKEN.sub(swap, text)


def write_packages(directory, originals, count):
    for n in range(count):
        package, text, names = originals[n % len(originals)]
        copy = n // len(originals)
        target = os.path.join(directory, f"{package}-{copy}", "seed", "schema")
        os.makedirs(target, exist_ok=True)
        with open(os.path.join(target, "entities.yaml"), "w") as f:
            f.write(rename(text, names, copy))


def timed(binary, url, args):
    started = time.monotonic()
    result = run(binary, url, args)
    return time.monotonic() - started, result


def psql(url, sql):
    subprocess.run(["psql", url, "-qAtc", sql], check=True, capture_output=True, text=True)


def seed_history(url, changes):
    """Adds history rows (rejected/superseded copies of real changes) up to `changes` in all, and
    one change whose diff is 2,000 lines; returns that change's id."""
    psql(url, f"""
        insert into schemagate.schema_change (package, kind, status, risk, base_checksum, target_checksum,
            yaml_snapshot, fragment_before, fragment_after, fragment_sha256, items, conflicts, created_by,
            declares)
        select c.package, c.kind, case when g % 2 = 0 then 'rejected' else 'superseded' end, c.risk,
            c.base_checksum, 'v1:' || md5(g::text) || md5(c.id::text), c.yaml_snapshot, c.fragment_before,
            c.fragment_after, c.fragment_sha256, c.items, '[]', 'bench', c.declares
        from generate_series(1, greatest({changes} - (select count(*) from schemagate.schema_change), 0)) g
        join lateral (select * from schemagate.schema_change order by random() limit 1) c on true""")
    lines = "\\n".join(f"  field{i} String @db.VarChar({i + 1})" for i in range(2000))
    out = subprocess.run(["psql", url, "-qAtc", f"""
        insert into schemagate.schema_change (package, kind, status, risk, target_checksum, yaml_snapshot,
            fragment_before, fragment_after, created_by, declares)
        values ('bench-wide', 'upsert', 'rejected', 'safe', 'v1:wide', '', '',
            E'model Wide {{\\n{lines}\\n}}\\n', 'bench', '{{}}') returning id"""],
        check=True, capture_output=True, text=True)
    return out.stdout.strip().splitlines()[0]


def rss_mib(pid):
    values = {}
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            key, _, rest = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                values[key] = int(rest.split()[0]) // 1024
    return values


def wrk(url, cookie, seconds):
    out = subprocess.run(["wrk", "-t2", "-c32", f"-d{seconds}s", "--latency", "-H", f"Cookie: {cookie}",
                          "-H", "Accept: text/html", url], capture_output=True, text=True).stdout
    def latency(label):
        match = re.search(rf"^\s+{label}%\s+([\d.]+)(us|ms|s)", out, re.M)
        if not match:
            return float("nan")
        value, unit = float(match.group(1)), match.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value
    requests = re.search(r"(\d+) requests in", out)
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {"p50_ms": latency("50"), "p99_ms": latency("99"),
            "requests": int(requests.group(1)) if requests else 0,
            "errors": int(non_2xx.group(1)) if non_2xx else 0}


def warm(url, cookie):
    """One request before the measured ones, as a page is seen once before it is seen often."""
    request = urllib.request.Request(url, headers={"Cookie": cookie, "Accept": "text/html"})
    with urllib.request.urlopen(request) as response:
        response.read()


def login(base, user, password):
    data = urllib.parse.urlencode({"username": user, "password": password}).encode()
    request = urllib.request.Request(f"{base}/api/login", data=data, headers={"Accept": "application/json"})
    with urllib.request.urlopen(request) as response:
        cookie = response.headers.get("Set-Cookie", "")
    return cookie.split(";")[0]


def seed(binary, originals, size, changes, url, packages):
    """Seeds the registry at `url` and the directory `packages`; returns the scan figures."""
    write_packages(packages, originals, size)
    run(binary, url, ["user", "add", "admin", "--role", "admin"], "admin-password\n")
    result = {}
    result["scan_empty_s"], _ = timed(binary, url, ["--packages", packages, "scan"])
    result["rescan_unchanged_s"], _ = timed(binary, url, ["--packages", packages, "scan"])
    first = sorted(os.listdir(packages))[0]
    path = os.path.join(packages, first, "seed", "schema", "entities.yaml")
    with open(path) as f:
        text = f.read()
    with open(path, "w") as f:
        f.write(text.replace("fields:", "fields:\n      benchNote: { type: string, required: false }", 1))
    result["rescan_one_changed_s"], _ = timed(binary, url, ["--packages", packages, "scan"])
    seed_history(url, changes)
    return result


def bench_size(binary, originals, size, changes, seconds, port, keep, only):
    admin_url = os.environ["DATABASE_URL"]
    name = f"sg_bench_{size}" if keep else f"sg_bench_{size}_{os.getpid()}"
    packages = os.path.join(ROOT, "target", f"bench-registry-{size}") if keep else \
        tempfile.mkdtemp(prefix=f"sg-packages-{size}-")
    exists = subprocess.run(["psql", admin_url, "-qAtc",
                             f"select 1 from pg_database where datname = '{name}'"],
                            capture_output=True, text=True).stdout.strip() == "1"
    url = database_url(name)
    result = {"packages": size}
    if not (keep and exists and os.path.isdir(packages)):
        psql(admin_url, f"drop database if exists {name} with (force)")
        psql(admin_url, f"create database {name}")
        shutil.rmtree(packages, ignore_errors=True)
        os.makedirs(packages)
        result.update(seed(binary, originals, size, changes, url, packages))
    wide = subprocess.run(["psql", url, "-qAtc",
                           "select id from schemagate.schema_change where package = 'bench-wide'"],
                          check=True, capture_output=True, text=True).stdout.strip()

    env = dict(os.environ, RUST_LOG="warn", DATABASE_URL=url,
               LEPTOS_SITE_ROOT=os.path.join(ROOT, "target", "site"))
    started = time.monotonic()
    server = subprocess.Popen([binary, "--packages", packages, "serve", "--addr", f"127.0.0.1:{port}",
                               "--scan-on-start=false"], env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    while True:
        try:
            urllib.request.urlopen(f"{base}/healthz", timeout=1)
            break
        except Exception:
            time.sleep(0.05)
    result["listen_s"] = time.monotonic() - started
    try:
        cookie = login(base, "admin", "admin-password")
        listed = json.loads(run(binary, url, ["list", "--json"]).stdout)
        some = next((c["id"] for c in listed if c["package"] != "bench-wide"), wide)
        pages = {
            "dashboard": "/",
            "queue": "/changes",
            "queue (rejected, page 100)": "/changes?status=rejected&page=100",
            "queue (search)": "/changes?q=stream",
            "change": f"/changes/{some}",
            "change (2,000-line diff)": f"/changes/{wide}",
            "packages": "/packages",
            "entities": "/entities",
            "audit": "/audit",
        }
        result["pages"] = {}
        for label, path in pages.items():
            if only is None or only in label:
                warm(base + path, cookie)
                result["pages"][label] = wrk(base + path, cookie, seconds)
        result["rss_after_mib"] = rss_mib(server.pid)
        result["requests"] = sum(p["requests"] for p in result["pages"].values())

        # /healthz while a scan runs.
        if keep and exists:
            return result
        scan = threading.Thread(target=lambda: urllib.request.urlopen(urllib.request.Request(
            f"{base}/api/scan_now", data=b"", headers={"Cookie": cookie, "Accept": "application/json"})))
        scan.start()
        worst = 0.0
        for _ in range(50):
            t = time.monotonic()
            urllib.request.urlopen(f"{base}/healthz", timeout=5)
            worst = max(worst, time.monotonic() - t)
            time.sleep(0.02)
        scan.join()
        result["healthz_during_scan_worst_ms"] = round(worst * 1000, 1)
    finally:
        server.terminate()
        server.wait()
        if not keep:
            shutil.rmtree(packages, ignore_errors=True)
            psql(admin_url, f"drop database if exists {name} with (force)")
    return result


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", default=os.path.join(ROOT, "target", "release", "schemagate"))
    parser.add_argument("--sizes", default="100,300,1000")
    parser.add_argument("--changes", type=int, default=10000)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--port", type=int, default=3190)
    parser.add_argument("--keep", action="store_true")
    parser.add_argument("--pages", default=None)
    args = parser.parse_args()
    if not shutil.which("wrk"):
        subprocess.run(["apt-get", "install", "-y", "wrk"], check=True)
    originals = corpus_packages(args.bin)
    results = [bench_size(args.bin, originals, int(size), args.changes, args.seconds, args.port,
                          args.keep, args.pages)
               for size in args.sizes.split(",")]
    print(json.dumps(results, indent=2))
    print()
    print("| | " + " | ".join(str(r["packages"]) for r in results) + " |")
    print("|---|" + "---|" * len(results))
    for key in ("listen_s", "scan_empty_s", "rescan_unchanged_s", "rescan_one_changed_s",
                "healthz_during_scan_worst_ms"):
        if all(key in r for r in results):
            print(f"| {key} | " + " | ".join(f"{r[key]:.2f}" for r in results) + " |")
    for page in results[0]["pages"]:
        print(f"| {page} p50/p99 ms | " + " | ".join(
            f"{r['pages'][page]['p50_ms']:.1f} / {r['pages'][page]['p99_ms']:.1f}" for r in results) + " |")
    print("| RSS after / peak MiB | " + " | ".join(
        f"{r['rss_after_mib'].get('VmRSS')} / {r['rss_after_mib'].get('VmHWM')}" for r in results) + " |")


if __name__ == "__main__":
    sys.exit(main())
