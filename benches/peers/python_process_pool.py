"""Python's peer for benches/process_pool.rs: multiprocessing.Pool and ProcessPoolExecutor.

Prints one JSON object of seconds: {"pool_task": per task of Pool.map with chunksize 1,
"executor_task": per task of ProcessPoolExecutor.map, "pool_item": per item of Pool.map with
its default chunks, "pool_start": Pool(n) with the spawn start method until its first map of
n items returned, "cpu_serial", "cpu_pool": the CPU-bound work serially and on the pool}.
Usage: python3 python_process_pool.py WORKERS TASKS ITEMS CPU_TASKS CPU_ROUNDS
"""
import json
import multiprocessing as mp
import sys
import time
from concurrent.futures import ProcessPoolExecutor


def same(x):
    return x


def burn(rounds):
    total = 0
    for i in range(rounds):
        total = (total + i * i) % 1000003
    return total


def timed(f):
    start = time.perf_counter()
    f()
    return time.perf_counter() - start


if __name__ == "__main__":
    workers, tasks, items, cpu_tasks, cpu_rounds = map(int, sys.argv[1:6])
    figures = {}
    spawn = mp.get_context("spawn")
    figures["pool_start"] = timed(lambda: spawn.Pool(workers).map(same, range(workers)))
    with mp.get_context("fork").Pool(workers) as pool:
        pool.map(same, range(100), chunksize=1)
        figures["pool_task"] = timed(lambda: pool.map(same, range(tasks), chunksize=1)) / tasks
        figures["pool_item"] = timed(lambda: pool.map(same, range(items))) / items
        figures["cpu_pool"] = timed(lambda: pool.map(burn, [cpu_rounds] * cpu_tasks, chunksize=1))
    figures["cpu_serial"] = timed(lambda: [burn(cpu_rounds) for _ in range(cpu_tasks)])
    with ProcessPoolExecutor(workers) as executor:
        list(executor.map(same, range(100)))
        figures["executor_task"] = timed(lambda: list(executor.map(same, range(tasks)))) / tasks
    print(json.dumps(figures))
