"""M/M/8 at rho = 0.9 in SimPy 4.1.2: the textbook SimPy model (one process per customer, one
Resource of capacity 8), written for infersim's peer comparison.

Same definitions as benches/peers/mm8.toml: arrivals stop at the horizon and the customers in the
system then finish; the mean wait and P(wait) cover customers arriving at or after the warm-up;
utilisation is busy server-time over 8 x (end of run), over the whole run.
"""

import argparse
import random

import simpy

from common import Clock, check_version, emit


def simulate(seed, rate, mu, servers, horizon, warmup):
    rng = random.Random(seed)
    env = simpy.Environment()
    pool = simpy.Resource(env, capacity=servers)
    st = {"customers": 0, "measured": 0, "waited": 0, "wait_sum": 0.0, "busy": 0.0}

    def customer(arrival):
        with pool.request() as req:
            yield req
            wait = env.now - arrival
            if arrival >= warmup:
                st["measured"] += 1
                st["wait_sum"] += wait
                if wait > 0.0:
                    st["waited"] += 1
            service = rng.expovariate(mu)
            st["busy"] += service
            yield env.timeout(service)

    def source():
        while True:
            yield env.timeout(rng.expovariate(rate))
            if env.now >= horizon:
                return
            st["customers"] += 1
            env.process(customer(env.now))

    env.process(source())
    env.run()
    end = env.now
    return {
        "customers": st["customers"],
        "measured": st["measured"],
        "wait_mean_s": st["wait_sum"] / st["measured"],
        "p_wait": st["waited"] / st["measured"],
        "utilization": st["busy"] / (servers * end),
        "end_time_s": end,
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--horizon", type=float, default=138889.0)
    ap.add_argument("--warmup", type=float, default=1000.0)
    ap.add_argument("--out", default="-")
    a = ap.parse_args()
    check_version(simpy, "4.1.2")
    with Clock() as c:
        m = simulate(a.seed, 7.2, 1.0, 8, a.horizon, a.warmup)
    emit(a.out, {"peer": "SimPy 4.1.2", "scenario": "mm8", "seed": a.seed,
                 "sim_seconds": c.seconds, "work": m["customers"], "metrics": m})


if __name__ == "__main__":
    main()
