"""Python's peer for benches/process.rs: multiprocessing.Process start + join, per start method.

Prints one JSON object: {"spawn": seconds_per_process, "fork": seconds_per_process,
"value_increment": seconds per locked increment of a Value shared by 2 processes}.
Usage: python3 python_process.py N INCREMENTS
"""
import json
import multiprocessing as mp
import sys
import time


def noop():
    pass


def add_under_lock(value, n):
    for _ in range(n):
        with value.get_lock():
            value.value += 1


def value_increment(n):
    """Seconds per locked increment of a shared Value, 2 fork processes adding n each."""
    value = mp.Value("q", 0)
    workers = [mp.get_context("fork").Process(target=add_under_lock, args=(value, n)) for _ in range(2)]
    start = time.perf_counter()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    elapsed = time.perf_counter() - start
    assert value.value == 2 * n
    return elapsed / (2 * n)


def per_process(method, n):
    context = mp.get_context(method)
    context.Process(target=noop).start()  # warm up: the first start pays imports
    start = time.perf_counter()
    for _ in range(n):
        process = context.Process(target=noop)
        process.start()
        process.join()
    return (time.perf_counter() - start) / n


if __name__ == "__main__":
    n, increments = int(sys.argv[1]), int(sys.argv[2])
    figures = {method: per_process(method, n) for method in ("spawn", "fork")}
    figures["value_increment"] = value_increment(increments)
    print(json.dumps(figures))
