#!/usr/bin/env python3
"""Small tools for scripts/bench, standard library only.

  helper.py port                      a free loopback TCP port
  helper.py sigv4 URL BODY            SigV4 headers for a SageMaker
                                      CreatePresignedDomainUrl (keys from
                                      AWS_ACCESS_KEY_ID / _SECRET_ / _REGION)
  helper.py table ROWS PATH           a CSV table of ROWS grants in `ml`,
                                      `alice` among them
  helper.py wait-ready URL            polls until 200; prints the time (ns)
  helper.py reload PID METRICS_URL    SIGHUP, then seconds until the table
                                      reload counter moves
  helper.py stat PID                  "cpu_ticks rss_kb peak_rss_kb
                                      system_ticks"
  helper.py drive URL METHOD HEADERS BODY COUNT
                                      COUNT requests on one connection, one
                                      at a time; fails on an answer other
                                      than 200 or 302
  helper.py criterion DIR             one record per criterion benchmark
                                      found under DIR (median, in ns)
  helper.py report RUNS_JSONL OUT     figures: a table on stdout, JSON in OUT
"""

import datetime
import hashlib
import hmac
import http.client
import json
import os
import signal
import socket
import statistics
import sys
import time
import urllib.parse


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        print(s.getsockname()[1])


def sigv4(url, body):
    """Headers of a signed request; the emulator accepts them for 15
    minutes, which bounds how long a load run may replay them."""
    key_id = os.environ["AWS_ACCESS_KEY_ID"]
    secret = os.environ["AWS_SECRET_ACCESS_KEY"]
    region = os.environ.get("AWS_REGION", "us-east-1")
    host = urllib.parse.urlsplit(url).netloc
    now = datetime.datetime.now(datetime.timezone.utc)
    stamp, day = now.strftime("%Y%m%dT%H%M%SZ"), now.strftime("%Y%m%d")
    headers = {
        "content-type": "application/x-amz-json-1.1",
        "host": host,
        "x-amz-date": stamp,
        "x-amz-target": "SageMaker.CreatePresignedDomainUrl",
    }
    names = ";".join(sorted(headers))
    canonical = "\n".join([
        "POST", "/", "",
        "".join(f"{k}:{headers[k]}\n" for k in sorted(headers)),
        names, hashlib.sha256(body.encode()).hexdigest(),
    ])
    scope = f"{day}/{region}/sagemaker/aws4_request"
    to_sign = "\n".join([
        "AWS4-HMAC-SHA256", stamp, scope,
        hashlib.sha256(canonical.encode()).hexdigest(),
    ])
    key = ("AWS4" + secret).encode()
    for part in (day, region, "sagemaker", "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    headers["authorization"] = (
        f"AWS4-HMAC-SHA256 Credential={key_id}/{scope}, "
        f"SignedHeaders={names}, Signature={signature}")
    del headers["host"]  # wrk sends the same Host itself
    for name, value in headers.items():
        print(f"{name}: {value}")


def table(rows, path):
    with open(path, "w") as out:
        out.write("identity,domain,profile,space,landing_uri,"
                  "session_seconds,iam_user\n")
        out.write("alice,ml,alice,,,,\n")
        for i in range(1, rows):
            out.write(f"user{i:07d},ml,user{i:07d},,,,\n")


def status(url):
    parts = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=2)
    try:
        conn.request("GET", parts.path or "/")
        return conn.getresponse().status
    except OSError:
        return None
    finally:
        conn.close()


def wait_ready(url, limit=120.0):
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if status(url) == 200:
            print(time.time_ns())
            return
        time.sleep(0.002)
    sys.exit(f"{url} not ready within {limit:.0f} s")


def reloads(url):
    parts = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=5)
    try:
        conn.request("GET", parts.path)
        text = conn.getresponse().read().decode()
    finally:
        conn.close()
    for line in text.splitlines():
        if (line.startswith("studio_broker_table_reloads_total")
                and 'result="ok"' in line):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


def reload(pid, url, limit=60.0):
    before = reloads(url)
    started = time.monotonic()
    os.kill(pid, signal.SIGHUP)
    while time.monotonic() - started < limit:
        if reloads(url) > before:
            print(f"{time.monotonic() - started:.3f}")
            return
        time.sleep(0.01)
    sys.exit(f"no reload within {limit:.0f} s")


def stat(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    system = int(fields[12])
    ticks = int(fields[11]) + system  # utime + stime
    memory = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            name, _, value = line.partition(":")
            memory[name] = value.split()[0] if value.split() else "0"
    print(ticks, memory.get("VmRSS", 0), memory.get("VmHWM", 0), system)


def drive(url, method, headers_file, body, count):
    parts = urllib.parse.urlsplit(url)
    headers = {}
    with open(headers_file) as f:
        for line in f:
            name, _, value = line.rstrip("\n").partition(":")
            if value:
                headers[name.strip()] = value.strip()
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=120)
    try:
        for _ in range(count):
            conn.request(method, parts.path or "/", body=body or None,
                         headers=headers)
            answer = conn.getresponse()
            answer.read()
            if answer.status not in (200, 302):
                sys.exit(f"{url} answered {answer.status}")
    finally:
        conn.close()


def criterion(folder):
    """The median of every benchmark criterion measured last, as records."""
    for here, _, files in sorted(os.walk(folder)):
        if os.path.basename(here) != "new" or "estimates.json" not in files:
            continue
        with open(os.path.join(here, "benchmark.json")) as f:
            name = json.load(f)["full_id"]
        with open(os.path.join(here, "estimates.json")) as f:
            median = json.load(f)["median"]["point_estimate"]
        print(json.dumps({"kind": "micro", "name": name, "median_ns": median}))


if __name__ == "__main__":
    command, args = sys.argv[1], sys.argv[2:]
    if command == "report":
        from report import report
        report(*args)
    else:
        {
            "port": lambda: free_port(),
            "sigv4": lambda: sigv4(*args),
            "table": lambda: table(int(args[0]), args[1]),
            "wait-ready": lambda: wait_ready(*args),
            "reload": lambda: reload(int(args[0]), args[1]),
            "stat": lambda: stat(int(args[0])),
            "criterion": lambda: criterion(args[0]),
            "drive": lambda: drive(args[0], args[1], args[2], args[3],
                                   int(args[4])),
        }[command]()
