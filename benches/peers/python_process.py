"""Python's peer for benches/process.rs: multiprocessing.Process start + join, per start method.

Prints one JSON object: {"spawn": seconds_per_process, "fork": seconds_per_process}.
Usage: python3 python_process.py N
"""
import json
import multiprocessing as mp
import sys
import time


def noop():
    pass


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
    n = int(sys.argv[1])
    print(json.dumps({method: per_process(method, n) for method in ("spawn", "fork")}))
