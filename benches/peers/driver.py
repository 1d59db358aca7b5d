"""Runs the peers and infersim side by side and prints the comparison (called by run.sh).

Everything runs one after the other, in rounds: round k runs every peer and infersim once on
each scenario, with seed k (so the rounds are also independent replications of each peer).
Each timed command runs under /usr/bin/time -v (wall time, peak RSS). A command during which
other processes used more than a little CPU (measured from /proc/stat minus the command's own
CPU time) is discarded and run again, so a compile elsewhere on the machine does not pollute a
timing.

Outputs: a table and the agreement checks on stdout, and everything in OUT/results.json.
"""

import argparse
import csv
import json
import math
import os
import re
import statistics
import subprocess
import sys
import time

from common import t95

HERE = os.path.dirname(os.path.abspath(__file__))

# ----- running and measuring ---------------------------------------------------------------


def cpu_busy_seconds():
    """Busy CPU time of the whole machine so far (all cores), seconds."""
    with open("/proc/stat") as f:
        fields = f.readline().split()[1:]
    user, nice, system, idle, iowait, irq, softirq, steal = (int(x) for x in fields[:8])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def parse_time_v(text):
    """Wall seconds, peak RSS (KB), user+system CPU seconds from /usr/bin/time -v output."""
    def field(name):
        m = re.search(r"^\s*" + re.escape(name) + r": (.+)$", text, re.M)
        if not m:
            raise RuntimeError(f"no '{name}' in /usr/bin/time output:\n{text}")
        return m.group(1).strip()

    wall = field("Elapsed (wall clock) time (h:mm:ss or m:ss)")
    secs = 0.0
    for part in wall.split(":"):
        secs = secs * 60 + float(part)
    rss = int(field("Maximum resident set size (kbytes)"))
    cpu = float(field("User time (seconds)")) + float(field("System time (seconds)"))
    return secs, rss, cpu


def timed(cmd, label, args, env=None):
    """Runs cmd under /usr/bin/time -v, retrying while the machine was busy with other work.
    Returns dict(wall, rss_kb, cpu, foreign, stdout, retries)."""
    for attempt in range(args.retries + 1):
        wait_quiet(args)
        before = cpu_busy_seconds()
        p = subprocess.run(["/usr/bin/time", "-v"] + cmd, capture_output=True, text=True,
                           env=env)
        after = cpu_busy_seconds()
        if p.returncode != 0:
            sys.exit(f"{label}: command failed ({p.returncode}): {' '.join(cmd)}\n"
                     f"{p.stdout}\n{p.stderr}")
        wall, rss, cpu = parse_time_v(p.stderr)
        foreign = max(0.0, (after - before) - cpu)
        # Background noise of an idle machine is ~1-3 % of a core; more means another job ran.
        noisy = foreign > 0.05 + 0.10 * wall
        if not noisy or attempt == args.retries:
            if noisy:
                print(f"  warning: {label}: other processes used {foreign:.2f} CPU-s during "
                      f"this run (kept after {args.retries} retries)", flush=True)
            return {"wall": wall, "rss_kb": rss, "cpu": cpu, "foreign": foreign,
                    "stdout": p.stdout, "retries": attempt}
        print(f"  {label}: other processes used {foreign:.2f} CPU-s during the run; "
              f"running it again", flush=True)


def wait_quiet(args):
    """Waits (up to args.quiet_wait s) until the machine has been idle for args.quiet_secs
    consecutive seconds (other processes below 0.15 CPU-s per second)."""
    deadline = time.time() + args.quiet_wait
    quiet = 0
    while quiet < args.quiet_secs and time.time() < deadline:
        b = cpu_busy_seconds()
        time.sleep(1.0)
        quiet = quiet + 1 if cpu_busy_seconds() - b < 0.15 else 0


# ----- statistics --------------------------------------------------------------------------


def mean_ci(xs):
    """(mean, 95 % CI half-width by Student t, n) of a list of replication values."""
    xs = [x for x in xs if x is not None and math.isfinite(x)]
    n = len(xs)
    if n == 0:
        return (float("nan"), float("nan"), 0)
    m = statistics.fmean(xs)
    if n == 1:
        return (m, float("nan"), 1)
    return (m, t95(n - 1) * statistics.stdev(xs) / math.sqrt(n), n)


def welch(a, b):
    """95 % CI of mean(a) - mean(b) (Welch), as (low, high)."""
    a = [x for x in a if x is not None and math.isfinite(x)]
    b = [x for x in b if x is not None and math.isfinite(x)]
    if len(a) < 2 or len(b) < 2:
        return (float("nan"), float("nan"))
    va, vb = statistics.variance(a) / len(a), statistics.variance(b) / len(b)
    d = statistics.fmean(a) - statistics.fmean(b)
    if va + vb == 0:
        return (d, d)
    df = (va + vb) ** 2 / (va ** 2 / (len(a) - 1) + vb ** 2 / (len(b) - 1))
    h = t95(max(1, int(df))) * math.sqrt(va + vb)
    return (d - h, d + h)


def erlang_c(lam, mu, c):
    """(P(wait), mean wait Wq) of M/M/c."""
    a = lam / mu
    rho = a / c
    s = sum(a ** k / math.factorial(k) for k in range(c))
    top = a ** c / math.factorial(c) / (1 - rho)
    pw = top / (s + top)
    return pw, pw / (c * mu - lam)


def read_summary(path):
    """summary.csv -> {replication: {metric: value}} (one policy)."""
    reps = {}
    with open(path) as f:
        for row in csv.DictReader(f):
            v = row["value"]
            reps.setdefault(int(row["replication"]), {})[row["metric"]] = (
                float(v) if v not in ("", "NaN", "nan") else float("nan"))
    return [reps[k] for k in sorted(reps)]


def fmt(x, digits=4):
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "—"
    if abs(x) >= 1000:
        return f"{x:,.0f}"
    return f"{x:.{digits}g}"


def fmt_ci(m, h, digits=4):
    return f"{fmt(m, digits)} ± {fmt(h, 2)}"


# ----- the work ----------------------------------------------------------------------------


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--root", required=True, help="the infersim checkout")
    ap.add_argument("--infersim", required=True, help="release binary")
    ap.add_argument("--bench", required=True, help="peers_bench binary")
    ap.add_argument("--python", default=sys.executable)
    ap.add_argument("--out", required=True)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--bench-runs", type=int, default=25,
                    help="engine::run timings per round per scenario")
    ap.add_argument("--agree-reps", type=int, default=10)
    ap.add_argument("--memory-runs", type=int, default=5)
    ap.add_argument("--scaling-runs", type=int, default=5)
    ap.add_argument("--retries", type=int, default=8,
                    help="runs again a command disturbed by other processes, at most this often")
    ap.add_argument("--quiet-wait", type=float, default=600.0,
                    help="longest wait for an idle machine before each command, s")
    ap.add_argument("--quiet-secs", type=int, default=5,
                    help="idle seconds required before each command")
    ap.add_argument("--skip", default="", help="comma list: peers,memory,scaling")
    args = ap.parse_args()
    skip = set(filter(None, args.skip.split(",")))
    os.makedirs(args.out, exist_ok=True)
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1")
    res = {"rounds": args.rounds, "runs": {}, "bench": {}, "agreement": {}, "memory": [],
           "scaling": {}}

    def record(key, entry):
        res["runs"].setdefault(key, []).append(entry)

    mm8 = os.path.join(HERE, "mm8.toml")
    faas = os.path.join(HERE, "simfaas.toml")
    py_jobs = [
        ("mm8", "SimPy 4.1.2", "mm8_simpy.py"),
        ("mm8", "Ciw 3.2.7", "mm8_ciw.py"),
        ("simfaas", "SimFaaS 0.2.2", "simfaas_simfaas.py"),
        ("simfaas", "SimPy 4.1.2", "simfaas_simpy.py"),
    ]
    if "peers" not in skip:
        for k in range(args.rounds):
            seed = k + 1
            print(f"round {k + 1}/{args.rounds} (seed {seed})", flush=True)
            for scen, peer, script in py_jobs:
                jf = os.path.join(args.out, f"{scen}-{script[:-3]}-{seed}.json")
                r = timed([args.python, os.path.join(HERE, script), "--seed", str(seed),
                           "--out", jf], f"{peer} {scen}", args, env)
                with open(jf) as f:
                    rec = json.load(f)
                rec.update(wall=r["wall"], rss_kb=r["rss_kb"], retries=r["retries"])
                record(f"{scen}|{peer}", rec)
                print(f"  {peer:14} {scen:8} sim {rec['sim_seconds']:7.2f} s  "
                      f"wall {r['wall']:6.2f} s  RSS {r['rss_kb'] / 1024:6.1f} MiB  "
                      f"{rec['work'] / rec['sim_seconds']:>10,.0f} /s", flush=True)
            for scen, toml in (("mm8", mm8), ("simfaas", faas)):
                # The CLI as a user runs it: load, simulate one replication, write reports.
                outdir = os.path.join(args.out, f"cli-{scen}-{seed}")
                r = timed([args.infersim, "run", toml, "--jobs", "1", "--replications", "1",
                           "--seed", str(seed), "--out", outdir], f"infersim {scen}", args)
                m = re.search(r"in ([0-9.]+)s\s*$", r["stdout"])
                reps = read_summary(os.path.join(outdir, "summary.csv"))
                record(f"{scen}|infersim-cli", {
                    "seed": seed, "wall": r["wall"], "rss_kb": r["rss_kb"],
                    "sim_seconds_cli": float(m.group(1)) if m else None,
                    "metrics": reps[0], "retries": r["retries"]})
                # Simulation only: engine::run timed inside one process (peers_bench).
                bj = os.path.join(args.out, f"bench-{scen}-{seed}.json")
                r2 = timed([args.bench, "--only", scen, "--runs", str(args.bench_runs),
                            "--first", str(k * args.bench_runs), "--json", bj],
                           f"peers_bench {scen}", args)
                with open(bj) as f:
                    b = json.load(f)[0]
                res["bench"].setdefault(scen, []).append(b)
                print(f"  {'infersim':14} {scen:8} sim {b['median_s']:7.3f} s  "
                      f"wall {r['wall']:6.2f} s  RSS {r['rss_kb'] / 1024:6.1f} MiB  "
                      f"{b['median_rate']:>10,.0f} /s (CLI: load + 1 replication + "
                      f"reports; sim: median of {args.bench_runs} engine::run)", flush=True)

    # ----- agreement: infersim replications ------------------------------------------------
    for scen, toml in (("mm8", mm8), ("simfaas", faas)):
        outdir = os.path.join(args.out, f"agree-{scen}")
        subprocess.run([args.infersim, "run", toml, "--replications", str(args.agree_reps),
                        "--out", outdir], check=True, capture_output=True)
        res["agreement"][scen] = read_summary(os.path.join(outdir, "summary.csv"))

    # ----- memory flat in run length ---------------------------------------------------------
    if "memory" not in skip:
        print("memory: SimFaaS model with lambda scaled so 10^6 s holds 10^6 .. 10^8 requests",
              flush=True)
        with open(faas) as f:
            text = f.read()
        for rate in ("1", "10", "100"):
            t2 = text.replace('rate = "0.9/s"', f'rate = "{rate}/s"')
            assert t2 != text
            path = os.path.join(args.out, f"memory-{rate}.toml")
            with open(path, "w") as f:
                f.write(t2)
            runs = []
            for i in range(args.memory_runs):
                outdir = os.path.join(args.out, f"memory-{rate}-out")
                r = timed([args.infersim, "run", path, "--jobs", "1", "--replications", "1",
                           "--seed", str(i + 1), "--out", outdir], f"memory {rate}/s", args)
                reps = read_summary(os.path.join(outdir, "summary.csv"))
                runs.append({"wall": r["wall"], "rss_kb": r["rss_kb"],
                             "requests": reps[0]["requests"],
                             "instances_created": reps[0]["instances_created"],
                             "events": reps[0]["events"]})
            entry = {"rate": float(rate), "runs": runs}
            res["memory"].append(entry)
            print(f"  {rate:>4}/s: {statistics.median(x['requests'] for x in runs):>13,.0f} "
                  f"requests  wall {statistics.median(x['wall'] for x in runs):7.2f} s  "
                  f"RSS {statistics.median(x['rss_kb'] for x in runs) / 1024:6.1f} MiB "
                  f"(median of {len(runs)})", flush=True)

    # ----- scaling over cores ----------------------------------------------------------------
    if "scaling" not in skip:
        reps = 32
        print(f"scaling: {reps} replications of simfaas.toml with --jobs 1 and --jobs 2",
              flush=True)
        walls = {1: [], 2: []}
        for i in range(args.scaling_runs):
            for jobs in (1, 2):
                r = timed([args.infersim, "run", faas, "--jobs", str(jobs), "--replications",
                           str(reps), "--out", os.path.join(args.out, f"scaling-{jobs}")],
                          f"scaling --jobs {jobs}", args)
                walls[jobs].append(r["wall"])
        res["scaling"] = {"replications": reps, "walls": walls}
        m1, m2 = statistics.median(walls[1]), statistics.median(walls[2])
        print(f"  --jobs 1: {m1:.2f} s, --jobs 2: {m2:.2f} s (medians of "
              f"{args.scaling_runs}) => speed-up {m1 / m2:.2f}x", flush=True)

    with open(os.path.join(args.out, "results.json"), "w") as f:
        json.dump(res, f, indent=1, sort_keys=True)
    report(res, args)


# ----- the report --------------------------------------------------------------------------


def report(res, args):
    out = []
    p = out.append
    runs = res["runs"]
    if runs:
        p("")
        p(f"Speed (medians over {res['rounds']} runs of each peer and {res['rounds']} × "
          f"{len(res['bench'].get('mm8', [{}])[0].get('seconds', [])) or '?'} engine::run "
          "timings of infersim; sim = simulation only, wall = whole process; RSS in MiB)")
        p("")
        p("| scenario | simulator | work per run | sim time | throughput (sim) | wall time "
          "| peak RSS | infersim / peer, throughput (sim) | peer / infersim, wall time |")
        p("|---|---|---|---|---|---|---|---|---|")
        for scen, label in (("mm8", "M/M/8"), ("simfaas", "SimFaaS model")):
            bench = res["bench"].get(scen, [])
            secs = [s for b in bench for s in b["seconds"]]
            rates = [b["work_mean"] / s for b in bench for s in b["seconds"]]
            cli = runs.get(f"{scen}|infersim-cli", [])
            i_rate = statistics.median(rates) if rates else float("nan")
            i_wall = statistics.median(x["wall"] for x in cli) if cli else float("nan")
            i_rss = statistics.median(x["rss_kb"] for x in cli) if cli else float("nan")
            work = statistics.fmean(b["work_mean"] for b in bench) if bench else float("nan")
            p(f"| {label} | infersim | {work:,.0f} | {statistics.median(secs):.3f} s | "
              f"{i_rate:,.0f}/s | {i_wall:.2f} s | {i_rss / 1024:.1f} MiB | — | — |")
            for key in sorted(k for k in runs if k.startswith(scen + "|") and "infersim" not in k):
                rs = runs[key]
                peer = key.split("|")[1]
                sim = statistics.median(r["sim_seconds"] for r in rs)
                rate = statistics.median(r["work"] / r["sim_seconds"] for r in rs)
                wall = statistics.median(r["wall"] for r in rs)
                rss = statistics.median(r["rss_kb"] for r in rs)
                w = statistics.fmean(r["work"] for r in rs)
                p(f"| {label} | {peer} | {w:,.0f} | {sim:.2f} s | {rate:,.0f}/s | {wall:.2f} s "
                  f"| {rss / 1024:.1f} MiB | **{i_rate / rate:.0f}×** | {wall / i_wall:.0f}× |")
    # Agreement.
    ag = res["agreement"]
    if ag:
        pw, wq = erlang_c(7.2, 1.0, 8)
        reps = ag["mm8"]
        p("")
        p(f"M/M/8 agreement (infersim: {len(reps)} replications of mm8.toml; peers: the "
          f"{res['rounds']} seeds of the timing rounds; mean ± 95 % CI half-width, Student t; "
          f"Erlang C: P(wait) = {pw:.4f}, Wq = {wq:.4f} s, utilisation 0.9, L = "
          f"{7.2 * (wq + 1):.3f})")
        p("")
        p("| quantity | Erlang C | infersim | SimPy | Ciw | exact in infersim CI | "
          "peers' means in infersim CI | Welch CI of infersim − peer contains 0 |")
        p("|---|---|---|---|---|---|---|---|")
        peers = {"SimPy": runs.get("mm8|SimPy 4.1.2", []), "Ciw": runs.get("mm8|Ciw 3.2.7", [])}
        rows = [
            ("mean wait Wq (s)", wq, [r["wait_mean_s"] for r in reps], "wait_mean_s"),
            ("utilisation", 0.9, [r["vm_utilization"] for r in reps], "utilization"),
            ("P(wait), fraction of customers that waited", pw,
             [r["wait_probability"] for r in reps], "p_wait"),
            ("L, mean in system", 7.2 * (wq + 1), [r["in_system_mean"] for r in reps], None),
        ]
        for name, exact, ivals, pkey in rows:
            m, h, n = mean_ci(ivals)
            cells, inside, welch_ok = [], [], []
            for pname, pr in peers.items():
                if pkey is None or not pr:
                    cells.append("—")
                    continue
                pv = [r["metrics"][pkey] for r in pr]
                pm, ph, _ = mean_ci(pv)
                cells.append(fmt_ci(pm, ph))
                inside.append(f"{pname} {'yes' if abs(pm - m) <= h else 'NO'}")
                lo, hi = welch(ivals, pv)
                welch_ok.append(f"{pname} {'yes' if lo <= 0 <= hi else 'NO'}")
            p(f"| {name} | {exact:.4f} | {fmt_ci(m, h)} | {cells[0]} | {cells[1]} | "
              f"{'yes' if abs(exact - m) <= h else 'NO'} | {', '.join(inside) or '—'} | "
              f"{', '.join(welch_ok) or '—'} |")
        reps = ag["simfaas"]
        p("")
        p(f"SimFaaS model agreement (infersim: {len(reps)} replications of simfaas.toml; peers: "
          f"the {res['rounds']} seeds of the timing rounds; mean ± 95 % CI half-width)")
        p("")
        p("| SimFaaS metric | infersim metric | infersim | SimFaaS 0.2.2 | SimPy 4.1.2 | "
          "peers' means in infersim CI | Welch CI of infersim − peer contains 0 |")
        p("|---|---|---|---|---|---|---|")
        peers = {"SimFaaS": runs.get("simfaas|SimFaaS 0.2.2", []),
                 "SimPy": runs.get("simfaas|SimPy 4.1.2", [])}

        def ratio(a, b):
            return [r[a] / r[b] for r in reps]

        rows = [
            ("prob_cold", "cold_starts / requests", ratio("cold_starts", "requests"), "p_cold"),
            ("(prob_cold)", "cold_start_rate", [r["cold_start_rate"] for r in reps], "p_cold"),
            ("prob_reject", "dropped / requests", ratio("dropped", "requests"), "p_reject"),
            ("inst_count_avg", "instances_mean", [r["instances_mean"] for r in reps],
             "instances_mean"),
            ("inst_running_count_avg", "instances_busy_mean",
             [r["instances_busy_mean"] for r in reps], "instances_busy_mean"),
            ("inst_idle_count_avg", "instances_idle_mean",
             [r["instances_idle_mean"] for r in reps], "instances_idle_mean"),
            ("lifespan_avg (s)", "instance_lifespan_mean_s",
             [r["instance_lifespan_mean_s"] for r in reps], "lifespan_mean_s"),
        ]
        for sname, iname, ivals, pkey in rows:
            m, h, n = mean_ci(ivals)
            cells, inside, welch_ok = [], [], []
            for pname, pr in peers.items():
                if not pr:
                    cells.append("—")
                    continue
                pv = [r["metrics"][pkey] for r in pr]
                pm, ph, _ = mean_ci(pv)
                cells.append(fmt_ci(pm, ph))
                if h == 0 and m == pm:
                    inside.append(f"{pname} equal")
                    welch_ok.append(f"{pname} equal")
                    continue
                inside.append(f"{pname} {'yes' if abs(pm - m) <= h else 'NO'}")
                lo, hi = welch(ivals, pv)
                welch_ok.append(f"{pname} {'yes' if lo <= 0 <= hi else 'NO'}")
            p(f"| {sname} | {iname} | {fmt_ci(m, h)} | {cells[0]} | {cells[1]} | "
              f"{', '.join(inside)} | {', '.join(welch_ok)} |")
    if res["memory"]:
        p("")
        p("Memory against run length (SimFaaS model, horizon 10^6 s, λ scaled; infersim run "
          "--jobs 1 --replications 1; medians)")
        p("")
        p("| λ | requests | instances created | wall time | peak RSS |")
        p("|---|---|---|---|---|")
        for e in res["memory"]:
            rs = e["runs"]
            p(f"| {e['rate']:g}/s | {statistics.median(r['requests'] for r in rs):,.0f} | "
              f"{statistics.median(r['instances_created'] for r in rs):,.0f} | "
              f"{statistics.median(r['wall'] for r in rs):.2f} s | "
              f"{statistics.median(r['rss_kb'] for r in rs) / 1024:.1f} MiB |")
    if res["scaling"]:
        w = res["scaling"]["walls"]
        m1, m2 = statistics.median(w["1"] if "1" in w else w[1]), \
            statistics.median(w["2"] if "2" in w else w[2])
        p("")
        p(f"Cores: {res['scaling']['replications']} replications of simfaas.toml, wall time "
          f"--jobs 1 {m1:.2f} s, --jobs 2 {m2:.2f} s => {m1 / m2:.2f}× (target ≥ 1.8×)")
    text = "\n".join(out)
    print(text)
    with open(os.path.join(args.out, "results.md"), "w") as f:
        f.write(text + "\n")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--report":
        # Re-print the report of an earlier run: driver.py --report OUT/results.json
        with open(sys.argv[2]) as f:
            r = json.load(f)

        class A:
            out = os.path.dirname(sys.argv[2])
        report(r, A)
    else:
        main()
