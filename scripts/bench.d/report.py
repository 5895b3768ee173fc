"""Turns the run records of scripts/bench into figures: a table on
stdout and target/bench/results.json.

Each line of the records file is one JSON object:
  {"kind": "floor", "concurrency", ...}  one sdk_floor result
  {"kind": "load", "mode", "path", "cpu_ticks", "clk_tck", "wrk": {...}}
  {"kind": "figure", "key", "value"} a figure measured directly
  {"kind": "micro", "name", "median_ns"}  one criterion benchmark
"""

import json
import statistics

# Figure: (target, "max" when lower is better / "min" when higher is).
TARGETS = {
    "bearer_overhead_cpu_us": (60, "max"),
    "session_overhead_cpu_us": (25, "max"),
    "added_latency_p50_ms": (0.5, "max"),
    "added_latency_p99_ms": (2.0, "max"),
    "rss_idle_mb": (30, "max"),
    "bytes_per_row_1m": (300, "max"),
    "reload_1m_seconds": (3.0, "max"),
    "reload_failed_requests": (0, "max"),
    "reload_p99_ms": (10, "max"),
    "ready_ms": (200, "max"),
    "provider_fetches_steady_state": (0, "max"),
}


def load_stats(records, mode, path):
    """Medians over the alternating rounds of one mode and path."""
    runs = [r for r in records
            if r["kind"] == "load" and r["mode"] == mode
            and r["path"] == path]
    if not runs:
        return None
    def median(f):
        return statistics.median(f(r) for r in runs)
    def per_request_us(r, field="cpu_ticks"):
        served = max(r["wrk"]["requests"], 1)
        return r.get(field, 0) * 1e6 / r["clk_tck"] / served
    return {
        "rounds": len(runs),
        "connections": runs[0]["connections"],
        "requests_per_second": median(
            lambda r: r["wrk"]["requests"] / (r["wrk"]["duration_us"] / 1e6)),
        "cpu_us_per_request": median(per_request_us),
        "cpu_system_us_per_request": median(
            lambda r: per_request_us(r, "system_ticks")),
        "p50_ms": median(lambda r: r["wrk"]["p50_us"] / 1e3),
        "p99_ms": median(lambda r: r["wrk"]["p99_us"] / 1e3),
        "max_ms": max(r["wrk"]["max_us"] / 1e3 for r in runs),
        "failed_requests": sum(r["wrk"]["socket_errors"]
                               + r["wrk"]["status_errors"] for r in runs),
    }


def figures(records):
    out = {}
    floors = [r for r in records if r["kind"] == "floor"]
    def floor_median(field, concurrent):
        values = [r[field] for r in floors if field in r
                  and (r.get("concurrency", 1) > 1) == concurrent]
        return statistics.median(values) if values else None
    sequential = floor_median("cpu_us_per_call", False)
    concurrent = floor_median("cpu_us_per_call", True)
    if sequential is not None:
        out["sdk_floor_cpu_us_per_call"] = sequential
        out["sdk_floor_system_us_per_call"] = floor_median(
            "cpu_system_us_per_call", False)
    if concurrent is not None:
        out["sdk_floor_concurrent_cpu_us_per_call"] = concurrent
        out["sdk_floor_concurrent_system_us_per_call"] = floor_median(
            "cpu_system_us_per_call", True)
    out = {k: v for k, v in out.items() if v is not None}
    # The overhead is taken over the floor measured as the broker runs,
    # with as many calls in flight as the load has connections: one call
    # at a time, each call also pays for waking the runtime, which a
    # loaded broker shares between calls.
    like_for_like = out.get("sdk_floor_concurrent_cpu_us_per_call",
                            out.get("sdk_floor_cpu_us_per_call"))
    sat = {p: load_stats(records, "sat", p)
           for p in ("emulator", "bearer", "session")}
    half = {p: load_stats(records, "half", p)
            for p in ("emulator", "bearer", "session")}
    for path in ("bearer", "session"):
        if sat[path]:
            cpu = sat[path]["cpu_us_per_request"]
            out[f"{path}_cpu_us_per_request"] = cpu
            out[f"{path}_requests_per_second"] = sat[path]["requests_per_second"]
            if like_for_like is not None:
                out[f"{path}_overhead_cpu_us"] = cpu - like_for_like
            if sequential is not None:
                out[f"{path}_overhead_vs_sequential_floor_cpu_us"] = (
                    cpu - out["sdk_floor_cpu_us_per_call"])
    if sat["emulator"] and sat["bearer"]:
        out["emulator_requests_per_second"] = sat["emulator"]["requests_per_second"]
        out["throughput_ratio_vs_emulator"] = (
            sat["bearer"]["requests_per_second"]
            / sat["emulator"]["requests_per_second"])
    if half["emulator"] and half["bearer"]:
        for q in ("p50", "p99"):
            out[f"added_latency_{q}_ms"] = (
                half["bearer"][f"{q}_ms"] - half["emulator"][f"{q}_ms"])
    if half["emulator"] and half["session"]:
        for q in ("p50", "p99"):
            out[f"session_added_latency_{q}_ms"] = (
                half["session"][f"{q}_ms"] - half["emulator"][f"{q}_ms"])
    for r in records:
        if r["kind"] == "figure":
            out[r["key"]] = r["value"]
    floor = out.get("sdk_floor_instructions_per_call")
    for path in ("bearer", "session"):
        measured = out.get(f"{path}_instructions_per_request")
        if floor and measured:
            out[f"{path}_overhead_instructions"] = measured - floor
    return out, {"saturation": sat, "half_saturation": half}


def verdict(key, value):
    if key not in TARGETS:
        return "", ""
    target, sense = TARGETS[key]
    met = value <= target if sense == "max" else value >= target
    return f"{'<=' if sense == 'max' else '>='} {target}", "yes" if met else "NO"


def print_table(out, runs):
    print(f"{'figure':<46} {'value':>12}  {'target':<10} met")
    for key in sorted(out):
        target, met = verdict(key, out[key])
        print(f"{key:<46} {out[key]:>12.3f}  {target:<10} {met}")
    print()
    print(f"{'run':<22} {'conns':>5} {'req/s':>9} {'cpu us/req':>10} "
          f"{'of it sys':>9} "
          f"{'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} {'failed':>6}")
    for mode, paths in runs.items():
        for path, s in paths.items():
            if not s:
                continue
            print(f"{mode[:13] + '/' + path:<22} {s['connections']:>5} "
                  f"{s['requests_per_second']:>9.0f} "
                  f"{s['cpu_us_per_request']:>10.1f} "
                  f"{s['cpu_system_us_per_request']:>9.1f} {s['p50_ms']:>8.2f} "
                  f"{s['p99_ms']:>8.2f} {s['max_ms']:>8.2f} "
                  f"{s['failed_requests']:>6}")


def micro(records):
    return {r["name"]: r["median_ns"] for r in records if r["kind"] == "micro"}


def print_micro(benchmarks):
    if not benchmarks:
        return
    print()
    print(f"{'cargo bench (median)':<46} {'us':>12}")
    for name in sorted(benchmarks):
        print(f"{name:<46} {benchmarks[name] / 1e3:>12.3f}")


def report(records_path, out_path, meta_path=None):
    with open(records_path) as f:
        records = [json.loads(line) for line in f if line.strip()]
    out, runs = figures(records)
    print_table(out, runs)
    print_micro(micro(records))
    document = dict(out)
    document["runs"] = runs
    document["micro_ns"] = micro(records)
    document["targets"] = {
        k: {"target": t, "sense": s, "met": verdict(k, out[k])[1] == "yes"}
        for k, (t, s) in TARGETS.items() if k in out
    }
    if meta_path:
        with open(meta_path) as f:
            document["meta"] = json.load(f)
    with open(out_path, "w") as f:
        json.dump(document, f, indent=2, sort_keys=True)
        f.write("\n")
