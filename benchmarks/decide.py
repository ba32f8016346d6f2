"""Time ``decide`` over the whole scenario table: every scenario x action x role.

    python benchmarks/decide.py [--rounds 7]

Prints decisions per second (best round, wall clock and process CPU) and the ratio to
the target of 200,000 decisions per second.
"""

from __future__ import annotations

import argparse
import datetime as dt
import time

import provisioning as pv

TARGET = 200_000


def main() -> None:
    """Run the benchmark and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()

    as_of = dt.date(2026, 11, 25)
    table = pv.scenarios(as_of=as_of)
    actors = [pv.Actor(id=f"bench-{role.value}", role=role) for role in pv.Role]
    cases = [
        (scenario.tenant, actor, action, scenario.product)
        for scenario in table
        for action in pv.Action
        for actor in actors
    ]
    decide = pv.decide
    best_wall = best_cpu = 0.0
    for _ in range(args.rounds):
        wall, cpu = time.perf_counter(), time.process_time()
        for tenant, actor, action, product in cases:
            decide(tenant, actor, action, product=product, as_of=as_of)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        best_wall = max(best_wall, len(cases) / wall)
        best_cpu = max(best_cpu, len(cases) / cpu) if cpu else best_cpu
    print(f"scenarios: {len(table)}, decisions per round: {len(cases)}, rounds: {args.rounds}")
    print(f"decide: {best_wall:,.0f} decisions/s wall ({best_wall / TARGET:.2f}x the target)")
    print(f"decide: {best_cpu:,.0f} decisions/s CPU ({best_cpu / TARGET:.2f}x the target)")


if __name__ == "__main__":
    main()
