"""SimFaaS's single-function model in SimPy 4.1.2, written for infersim's peer comparison (an
independent second implementation of the model, and the speed of a general-purpose Python DES
on it).

Model and definitions as SimFaaS's ServerlessSimulator: Poisson arrivals (0.9/s) until the
horizon; an arrival finding 1000 busy instances is rejected; otherwise it takes the idle instance
with the largest creation time (warm, Exp(mean 1.991 s)) or creates one (cold, Exp(mean 2.244 s)
for the whole request); an instance idle for 600 s terminates. Metrics:
p_cold = cold / all requests (rejected included); p_reject = rejected / all requests;
instance counts are time averages over [0, horizon]; lifespan = mean creation-to-termination
time of instances terminated by the horizon. One process per request and per idle period.
"""

import argparse
import random

import simpy

from common import Clock, check_version, emit


class Instance:
    __slots__ = ("created", "generation", "idle")

    def __init__(self, created):
        self.created = created
        self.generation = 0
        self.idle = False


def simulate(seed, rate, warm_mean, cold_mean, expiry, limit, horizon):
    rng = random.Random(seed)
    env = simpy.Environment()
    idle = []           # idle instances; the newest (largest creation time) is reused first
    st = {"requests": 0, "cold": 0, "rejected": 0, "terminated": 0, "life_sum": 0.0,
          "alive": 0, "busy": 0, "alive_area": 0.0, "busy_area": 0.0, "since": 0.0}

    def counts(d_alive, d_busy):
        now = env.now
        dt = now - st["since"]
        st["alive_area"] += st["alive"] * dt
        st["busy_area"] += st["busy"] * dt
        st["since"] = now
        st["alive"] += d_alive
        st["busy"] += d_busy

    def expire(inst, generation):
        yield env.timeout(expiry)
        if inst.generation == generation and inst.idle:
            idle.remove(inst)
            inst.idle = False
            counts(-1, 0)
            st["terminated"] += 1
            st["life_sum"] += env.now - inst.created

    def serve(inst, duration):
        yield env.timeout(duration)
        counts(0, -1)
        inst.generation += 1
        inst.idle = True
        idle.append(inst)
        env.process(expire(inst, inst.generation))

    def source():
        while True:
            yield env.timeout(rng.expovariate(rate))
            if env.now >= horizon:
                return
            st["requests"] += 1
            if st["busy"] >= limit:
                st["rejected"] += 1
                continue
            if idle:
                inst = max(idle, key=lambda i: i.created)
                idle.remove(inst)
                inst.idle = False
                inst.generation += 1
                counts(0, 1)
                env.process(serve(inst, rng.expovariate(1.0 / warm_mean)))
            else:
                st["cold"] += 1
                inst = Instance(env.now)
                counts(1, 1)
                env.process(serve(inst, rng.expovariate(1.0 / cold_mean)))

    env.process(source())
    env.run(until=horizon)
    counts(0, 0)
    n = st["requests"]
    return {
        "requests": n,
        "cold_starts": st["cold"],
        "rejected": st["rejected"],
        "p_cold": st["cold"] / n,
        "p_reject": st["rejected"] / n,
        "instances_mean": st["alive_area"] / horizon,
        "instances_busy_mean": st["busy_area"] / horizon,
        "instances_idle_mean": (st["alive_area"] - st["busy_area"]) / horizon,
        "lifespan_mean_s": st["life_sum"] / st["terminated"] if st["terminated"] else None,
        "terminated": st["terminated"],
        "end_time_s": horizon,
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--horizon", type=float, default=1e6)
    ap.add_argument("--out", default="-")
    a = ap.parse_args()
    check_version(simpy, "4.1.2")
    with Clock() as c:
        m = simulate(a.seed, 0.9, 1.991, 2.244, 600.0, 1000, a.horizon)
    emit(a.out, {"peer": "SimPy 4.1.2", "scenario": "simfaas", "seed": a.seed,
                 "sim_seconds": c.seconds, "work": m["requests"], "metrics": m})


if __name__ == "__main__":
    main()
