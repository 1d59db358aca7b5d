"""SimFaaS 0.2.2's own single-function model (ServerlessSimulator), run as its README does,
for infersim's peer comparison: lambda = 0.9/s, warm Exp(mean 1.991 s), cold Exp(mean 2.244 s)
for the whole cold request, expiration threshold 600 s, maximum concurrency 1000, 10^6 s.

The metrics are SimFaaS's `get_result_dict()` (see BENCHMARKS.md, "Peers side by side", for how
each is defined and how infersim's metrics map to them). The simulation-only time is the
`generate_trace()` call.
"""

import argparse

import numpy as np
from simfaas.ServerlessSimulator import ServerlessSimulator

from common import Clock, emit


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--horizon", type=float, default=1e6)
    ap.add_argument("--out", default="-")
    a = ap.parse_args()
    np.random.seed(a.seed)   # SimFaaS draws from numpy's global generator
    sim = ServerlessSimulator(
        arrival_rate=0.9,
        warm_service_rate=1 / 1.991,
        cold_service_rate=1 / 2.244,
        expiration_threshold=600,
        max_time=a.horizon,
        maximum_concurrency=1000,
    )
    with Clock() as c:
        sim.generate_trace(debug_print=False, progress=False)
    r = sim.get_result_dict()
    m = {
        "requests": r["reqs_total"],
        "cold_starts": r["reqs_cold"],
        "rejected": r["reqs_reject"],
        "p_cold": r["prob_cold"],
        "p_reject": r["prob_reject"],
        "instances_mean": r["inst_count_avg"],
        "instances_busy_mean": r["inst_running_count_avg"],
        "instances_idle_mean": r["inst_idle_count_avg"],
        "lifespan_mean_s": r["lifespan_avg"],
        "terminated": len(sim.prev_servers),
        "end_time_s": sim.get_trace_end(),
    }
    emit(a.out, {"peer": "SimFaaS 0.2.2", "scenario": "simfaas", "seed": a.seed,
                 "sim_seconds": c.seconds, "work": m["requests"], "metrics": m})


if __name__ == "__main__":
    main()
