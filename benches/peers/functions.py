"""How infersim's cost grows with the number of functions (BENCHMARKS.md, "Peers side by side").

Writes synthetic traces with 1, 100 and 1,000 functions to OUT (10^6 arrivals: Poisson at 100/s
in all, each arrival's function uniform among the N, duration Exp(mean 1 s)) and replays each with
the SimFaaS model's platform (keep-alive 600 s, newest idle instance first, no limits hit), timing
`infersim run --jobs 1 --replications 1 --no-plots` with the same gate as driver.py ("replay" is
the time infersim itself reports for the runs: reading the trace and simulating, without loading
the scenario, which checks the whole trace once, or writing reports). Needs trace
replay (`kind = "trace"`, `format = "csv"`).

    python benches/peers/functions.py --infersim target/release/infersim --out target/peers/functions
"""

import argparse
import csv
import os
import random
import re
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from driver import read_summary, timed  # noqa: E402

SCENARIO = """name = "peers-functions-{n}"
description = "{n} functions, 100/s in all, Exp(1 s) durations, SimFaaS platform"

[run]
horizon = "{horizon}s"
seed = 1

[workload]
arrivals = {{ kind = "trace", format = "csv", path = "{trace}", time_column = "t", time_unit = "s", function_column = "fn", duration_column = "d", duration_unit = "ms" }}

[platform.faas]
memory = "1769MB"
keep_alive = "600s"
reuse = "newest"
concurrency_limit = 100000
on_throttle = {{ kind = "drop" }}
scale_rate = "unlimited"
cold_start = {{ kind = "exponential", mean = "2.244s" }}

[[stage]]
name = "fn"
service = {{ kind = "from-trace" }}

[[policy]]
kind = "all-faas"
"""


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--infersim", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--arrivals", type=int, default=1_000_000)
    ap.add_argument("--rate", type=float, default=100.0)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--retries", type=int, default=8)
    ap.add_argument("--quiet-wait", type=float, default=600.0)
    ap.add_argument("--quiet-secs", type=int, default=5)
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    rows = []
    for n in (1, 100, 1000):
        trace = os.path.join(args.out, f"trace-{n}.csv")
        rng = random.Random(n)
        t = 0.0
        with open(trace, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["t", "fn", "d"])
            for _ in range(args.arrivals):
                t += rng.expovariate(args.rate)
                w.writerow([f"{t:.6f}", f"f{rng.randrange(n)}", f"{rng.expovariate(1.0) * 1e3:.3f}"])
        toml = os.path.join(args.out, f"functions-{n}.toml")
        with open(toml, "w") as f:
            f.write(SCENARIO.format(n=n, horizon=int(t) + 1, trace=os.path.basename(trace)))
        runs = []
        for i in range(args.runs):
            outdir = os.path.join(args.out, f"out-{n}")
            r = timed([args.infersim, "run", toml, "--jobs", "1", "--replications", "1",
                       "--no-plots", "--out", outdir], f"{n} functions", args)
            m = read_summary(os.path.join(outdir, "summary.csv"))[0]
            sim = re.search(r" in ([0-9.]+)s\s*$", r["stdout"])
            runs.append((r["wall"], r["rss_kb"], m, float(sim.group(1)) if sim else float("nan")))
        wall = statistics.median(x[0] for x in runs)
        rss = statistics.median(x[1] for x in runs)
        sim = statistics.median(x[3] for x in runs)
        m = runs[0][2]
        rows.append((n, m["requests"], m["events"], m["instances_created"], m["instances_mean"],
                     m["cold_start_rate"], wall, sim, rss))
        print(f"  {n:>5} functions: wall {wall:.2f} s, RSS {rss / 1024:.1f} MiB", flush=True)
    print("")
    print(f"| functions | requests | events | instances created | instances alive (mean) "
          f"| cold-start rate | wall time (median of {args.runs}) | of which replay "
          f"| requests/s of replay | peak RSS |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for n, req, ev, created, alive, cold, wall, sim, rss in rows:
        print(f"| {n:,} | {req:,.0f} | {ev:,.0f} | {created:,.0f} | {alive:,.1f} | {cold:.4f} "
              f"| {wall:.2f} s | {sim:.2f} s | {req / sim:,.0f} | {rss / 1024:.1f} MiB |")


if __name__ == "__main__":
    main()
