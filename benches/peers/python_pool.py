"""Python's peer for benches/pool.rs: multiprocessing.pool.ThreadPool.map and
multiprocessing.Pool.map with chunksize=1, one task per item, on WORKERS workers.

Measures the best of ROUNDS rounds of mapping a trivial function over N items (the pool
started once, before the rounds); seconds per item.

Prints one JSON object: {"thread_pool_map_chunksize_1": s, "process_pool_map_chunksize_1": s}.
Usage: python3 python_pool.py N ROUNDS WORKERS
"""
import json
import multiprocessing as mp
import multiprocessing.pool
import sys
import time


def work(n):
    return n * 2 + 1


def per_item(pool, n, rounds):
    pool.map(work, range(100), chunksize=1)  # warm up
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        pool.map(work, range(n), chunksize=1)
        best = min(best, time.perf_counter() - start)
    return best / n


def main():
    n, rounds, workers = (int(arg) for arg in sys.argv[1:4])
    with multiprocessing.pool.ThreadPool(workers) as pool:
        threads = per_item(pool, n, rounds)
    with mp.get_context("fork").Pool(workers) as pool:
        processes = per_item(pool, n, rounds)
    print(json.dumps({
        "thread_pool_map_chunksize_1": threads,
        "process_pool_map_chunksize_1": processes,
    }))


if __name__ == "__main__":
    main()
