"""M/M/8 at rho = 0.9 in Ciw 3.2.7 (one node, 8 servers, FIFO), written for infersim's peer
comparison.

Ciw's `simulate_until_max_time(horizon)` admits arrivals until the horizon and stops there; the
records are those of customers that finished by then (all but the ~13 still in the system). The
mean wait and P(wait) cover records of customers arriving at or after the warm-up; utilisation is
Ciw's own time-weighted server utilisation over [0, horizon].
"""

import argparse

import ciw

from common import Clock, check_version, emit


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--horizon", type=float, default=138889.0)
    ap.add_argument("--warmup", type=float, default=1000.0)
    ap.add_argument("--out", default="-")
    a = ap.parse_args()
    check_version(ciw, "3.2.7")
    ciw.seed(a.seed)
    net = ciw.create_network(
        arrival_distributions=[ciw.dists.Exponential(rate=7.2)],
        service_distributions=[ciw.dists.Exponential(rate=1.0)],
        number_of_servers=[8],
    )
    with Clock() as c:
        q = ciw.Simulation(net)
        q.simulate_until_max_time(a.horizon)
    recs = q.get_all_records()
    served = [r for r in recs if r.record_type == "service"]
    measured = [r for r in served if r.arrival_date >= a.warmup]
    node = q.transitive_nodes[0]
    node.find_server_utilisation()
    m = {
        # Customers that entered the system (finished, plus those still inside at the horizon).
        "customers": len(served) + len(node.all_individuals),
        "measured": len(measured),
        "wait_mean_s": sum(r.waiting_time for r in measured) / len(measured),
        "p_wait": sum(1 for r in measured if r.waiting_time > 0.0) / len(measured),
        "utilization": node.server_utilisation,
        "end_time_s": a.horizon,
    }
    emit(a.out, {"peer": "Ciw 3.2.7", "scenario": "mm8", "seed": a.seed,
                 "sim_seconds": c.seconds, "work": m["customers"], "metrics": m})


if __name__ == "__main__":
    main()
