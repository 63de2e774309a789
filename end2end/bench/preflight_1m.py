#!/usr/bin/env python3
"""Preflight bench: one change with five data hazards (a column made required, a unique index,
a foreign key, a shorter length, a dropped column) on a table of 1,000,000 rows, checked against
the live platform database. Seeds a fresh database (registry and platform in one, as the tests
do), applies the table, writes the rows with generate_series, scans the change, then runs
`schemagate show CHANGE --json` with `--preflight-max-age 1ms` (so every run checks afresh)
and reports the preflight's own time (`duration_ms`, median of the runs) and the wall time.

Usage: preflight_1m.py [--bin PATH] [--rows 1000000] [--runs 5]
DATABASE_URL must name a PostgreSQL server (e.g. run under `schemagate db run -- ...`); psql
must be on PATH.
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
import urllib.parse

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))

V1 = """entities:
  - name: Post
    fields:
      id: { type: string, primary: true }
      tenantId: { type: string, required: true }
      title: { type: string, required: false }
      slug: { type: string, required: false }
      code: { type: string, required: true, maxLength: 50 }
      legacy: { type: string, required: false }
      authorId: { type: string, required: false }
    relations:
      - name: tenant
        type: belongsTo
        entity: Tenant
        field: tenantId
"""

V2 = """entities:
  - name: Post
    fields:
      id: { type: string, primary: true }
      tenantId: { type: string, required: true }
      title: { type: string, required: true }
      slug: { type: string, required: false, unique: true }
      code: { type: string, required: true, maxLength: 8 }
      authorId: { type: string, required: false }
    relations:
      - name: tenant
        type: belongsTo
        entity: Tenant
        field: tenantId
      - name: author
        type: belongsTo
        entity: User
        field: authorId
"""


def database_url(name):
    url = urllib.parse.urlsplit(os.environ["DATABASE_URL"])
    return urllib.parse.urlunsplit((url.scheme, url.netloc, "/" + name, url.query, url.fragment))


def cli(binary, url, args, stdin=""):
    env = dict(os.environ, RUST_LOG="warn", DATABASE_URL=url, SCHEMAGATE_PLATFORM_DATABASE_URL=url)
    done = subprocess.run([binary, *args], input=stdin, capture_output=True, text=True, env=env)
    if done.returncode != 0:
        sys.exit(f"schemagate {' '.join(args)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return done.stdout


def psql(url, sql):
    subprocess.run(["psql", "-q", "-v", "ON_ERROR_STOP=1", url, "-c", sql], check=True,
                   stdout=subprocess.DEVNULL)


def write_package(work, yaml):
    schema = os.path.join(work, "packages", "blog", "seed", "schema")
    os.makedirs(schema, exist_ok=True)
    with open(os.path.join(schema, "entities.yaml"), "w") as f:
        f.write(yaml)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", default=os.path.join(ROOT, "target", "debug", "schemagate"))
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    name = "sg_bench_preflight"
    psql(os.environ["DATABASE_URL"], f"drop database if exists {name} with (force)")
    psql(os.environ["DATABASE_URL"], f"create database {name}")
    url = database_url(name)
    work = os.path.join(ROOT, "target", "bench-preflight")
    shutil.rmtree(work, ignore_errors=True)
    packages = os.path.join(work, "packages")
    cli(args.bin, url, ["user", "add", "alice", "--role", "admin"], "long enough\n")
    write_package(work, V1)
    scan = json.loads(cli(args.bin, url, ["--packages", packages, "scan", "--json"]))
    cli(args.bin, url, ["approve", scan["created"][0]["change"], "--as", "alice"])
    cli(args.bin, url, ["apply", "--schema-out", os.path.join(work, "schema.prisma")])

    started = time.monotonic()
    psql(url, f"""
        insert into "Tenant" (id) values ('t1');
        insert into "User" (id) values ('u1');
        insert into "Post" (id, "tenantId", title, slug, code, legacy, "authorId")
        select 'p' || n, 't1',
               case when n % 1000 = 0 then null else 'title ' || n end,
               case when n % 100000 = 0 then 'dup' else 'slug-' || n end,
               case when n % 50000 = 0 then 'a code too long' else lpad(n::text, 8, '0') end,
               case when n % 2 = 0 then 'old ' || n end,
               case when n % 250000 = 0 then 'ghost' else 'u1' end
        from generate_series(1, {args.rows}) n;
        analyze "Post";""")
    print(f"seeded {args.rows:,} rows in {time.monotonic() - started:.1f} s")

    write_package(work, V2)
    scan = json.loads(cli(args.bin, url, ["--packages", packages, "scan", "--json"]))
    change = scan["created"][0]["change"]
    durations, walls = [], []
    report = None
    for _ in range(args.runs):
        started = time.monotonic()
        report = json.loads(cli(args.bin, url, ["--preflight-max-age", "1ms", "show", change, "--json"]))
        walls.append(time.monotonic() - started)
        durations.append(report["preflight"]["duration_ms"])
    for fact in report["preflight"]["facts"]:
        numbers = {k: fact[k] for k in ("rows", "violating", "lost") if fact.get(k) is not None}
        print(f"  statement {fact['statement']}: {fact['hazard']['kind']} {numbers}"
              + (f" error: {fact['error']}" if fact.get("error") else ""))
    print(f"preflight of one change ({len(report['preflight']['facts'])} checks) on {args.rows:,} rows: "
          f"median {statistics.median(durations):.0f} ms (runs: {', '.join(str(d) for d in durations)}); "
          f"`show --json` wall time median {statistics.median(walls):.2f} s")


if __name__ == "__main__":
    main()
