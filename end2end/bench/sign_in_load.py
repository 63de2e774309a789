#!/usr/bin/env python3
"""Sign-in load bench: fires N concurrent sign-ins (wrong passwords) at a running server and
reports its peak RSS and how many passwords it checked.

Usage: sign_in_load.py BASE_URL SERVER_PID [N] [USERNAME]
USERNAME `*` gives every attempt its own unknown username (a dummy hash is verified for each),
which measures the cap on concurrent hashing rather than the per-username limit; start the
server with a high --login-max-client-attempts for that.
Peak RSS is the server process's VmHWM (Linux); passwords checked are read from the audit log
with `schemagate audit list --json` (DATABASE_URL must point at the server's registry).
"""
import json
import os
import subprocess
import sys
import threading
import urllib.error
import urllib.parse
import urllib.request


def rss_kib(pid, field):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def main():
    base, pid = sys.argv[1], int(sys.argv[2])
    count = int(sys.argv[3]) if len(sys.argv) > 3 else 250
    username = sys.argv[4] if len(sys.argv) > 4 else "admin"
    before = rss_kib(pid, "VmRSS")
    statuses = {}
    lock = threading.Lock()
    barrier = threading.Barrier(count)

    def attempt(i):
        name = f"spray{i}" if username == "*" else username
        body = urllib.parse.urlencode({"username": name, "password": f"guess-{i}"}).encode()
        request = urllib.request.Request(base + "/api/login", data=body,
                                         headers={"Accept": "application/json"})
        barrier.wait()
        try:
            with urllib.request.urlopen(request, timeout=120) as response:
                code = response.status
        except urllib.error.HTTPError as error:
            code = error.code
        except Exception as error:  # connection refused, reset
            code = type(error).__name__
        with lock:
            statuses[code] = statuses.get(code, 0) + 1

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    peak = rss_kib(pid, "VmHWM")
    after = rss_kib(pid, "VmRSS")
    schemagate = os.environ.get("SCHEMAGATE", "target/debug/schemagate")
    events = json.loads(subprocess.run([schemagate, "audit", "list", "--json"],
                                       capture_output=True, text=True, check=True).stdout)
    checked = sum(1 for e in events
                  if e["action"] in ("login.failed", "login.succeeded")
                  and (username == "*" or e["details"].get("username") == username))
    print(json.dumps({"attempts": count, "statuses": statuses,
                      "rss_before_mib": round(before / 1024, 1),
                      "peak_rss_mib": round(peak / 1024, 1),
                      "rss_after_mib": round(after / 1024, 1),
                      "passwords_checked": checked}))


if __name__ == "__main__":
    main()
