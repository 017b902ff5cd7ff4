"""Where tenants land past one database: a simulation of Citus schema-based sharding.

Each tenant schema is a distributed schema placed whole on one worker node. Citus places a
new schema on the next node in turn (round robin, by creation order), whatever its later size;
`citus_rebalance_start()` then moves whole schemas from the fullest node to the emptiest while
a move narrows the gap. This script draws 10,000 tenants with skewed sizes (Pareto, the "80/20"
shape of small businesses: most tiny, a few large), places them both ways on N nodes, and
reports the largest node's share of all data against the ideal 1/N.

    .venv/bin/python -m bench.placement [--tenants 10000] [--seed 12]

No database needed; figures go to bench/results/placement.json.
"""

import argparse
import heapq
import random
import time

from bench.setup import write_results

NODE_COUNTS = (2, 4, 8, 16, 32)
# Pareto shape 1.16 gives the 80/20 split; sizes in MB, the smallest tenant 1 MB.
PARETO_ALPHA = 1.16
# Citus's default rebalance threshold: stop once every node is within 10% of the average.
REBALANCE_THRESHOLD = 0.10


def tenant_sizes(count: int, rng: random.Random) -> list[float]:
    return [rng.paretovariate(PARETO_ALPHA) for _ in range(count)]


def round_robin(sizes: list[float], nodes: int) -> list[list[float]]:
    placement: list[list[float]] = [[] for _ in range(nodes)]
    for index, size in enumerate(sizes):
        placement[index % nodes].append(size)
    return placement


def rebalance(placement: list[list[float]]) -> tuple[list[list[float]], int, float]:
    """Move the largest schema that narrows the gap from the fullest node to the emptiest, until
    every node is within REBALANCE_THRESHOLD of the average or no move helps. Returns the new
    placement, the number of schemas moved and the data moved."""
    nodes = [sorted(node) for node in placement]
    average = sum(map(sum, nodes)) / len(nodes)
    moved, moved_size = 0, 0.0
    while True:
        loads = [sum(node) for node in nodes]
        full = max(range(len(nodes)), key=loads.__getitem__)
        empty = min(range(len(nodes)), key=loads.__getitem__)
        if loads[full] <= average * (1 + REBALANCE_THRESHOLD):
            break
        gap = loads[full] - loads[empty]
        # The largest schema smaller than the gap makes the two nodes closer.
        candidates = [size for size in nodes[full] if size < gap]
        if not candidates:
            break
        size = max(candidates)
        nodes[full].remove(size)
        nodes[empty].append(size)
        moved += 1
        moved_size += size
    return nodes, moved, moved_size


def largest_first(sizes: list[float], nodes: int) -> float:
    """The best a placement of whole schemas can roughly do (LPT): largest node's load."""
    heap = [(0.0, node) for node in range(nodes)]
    for size in sorted(sizes, reverse=True):
        load, node = heapq.heappop(heap)
        heapq.heappush(heap, (load + size, node))
    return max(load for load, _ in heap)


def simulate(tenants: int, seed: int) -> dict:
    rng = random.Random(seed)
    sizes = tenant_sizes(tenants, rng)
    total = sum(sizes)
    ranked = sorted(sizes, reverse=True)
    figures: dict = {
        "tenants": tenants,
        "seed": seed,
        "size_distribution": f"Pareto alpha={PARETO_ALPHA}, minimum 1",
        "largest_tenant_share": round(ranked[0] / total, 4),
        "top_1_percent_share": round(sum(ranked[: tenants // 100]) / total, 4),
        "rebalance_threshold": REBALANCE_THRESHOLD,
        "nodes": [],
    }
    for count in NODE_COUNTS:
        placed = round_robin(sizes, count)
        balanced, moved, moved_size = rebalance(placed)
        figures["nodes"].append(
            {
                "nodes": count,
                "ideal_share": round(1 / count, 4),
                "round_robin_largest_share": round(max(map(sum, placed)) / total, 4),
                "rebalanced_largest_share": round(max(map(sum, balanced)) / total, 4),
                "largest_first_share": round(largest_first(sizes, count) / total, 4),
                "schemas_moved": moved,
                "data_moved_share": round(moved_size / total, 4),
            }
        )
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tenants", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=12)
    arguments = parser.parse_args()
    started = time.perf_counter()
    figures = simulate(arguments.tenants, arguments.seed)
    figures["seconds"] = round(time.perf_counter() - started, 2)
    figures["measured_at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    print(f"{'nodes':>5} {'ideal':>7} {'round robin':>12} {'rebalanced':>11} {'LPT':>7} {'moved':>6}")
    for row in figures["nodes"]:
        print(
            f"{row['nodes']:>5} {row['ideal_share']:>7.1%} {row['round_robin_largest_share']:>12.1%} "
            f"{row['rebalanced_largest_share']:>11.1%} {row['largest_first_share']:>7.1%} {row['schemas_moved']:>6}"
        )
    print(write_results("placement", figures))


if __name__ == "__main__":
    main()
