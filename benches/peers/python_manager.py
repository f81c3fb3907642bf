"""Python's peer for benches/manager.rs: multiprocessing.Manager() start-up and dict proxy
round trips.

Prints one JSON object: {"start": seconds from Manager() to its first dict proxy,
"get": seconds per d[k], "set": seconds per d[k] = v}.
Usage: python3 python_manager.py STARTS CALLS
"""
import json
import multiprocessing as mp
import sys
import time


def best_of(rounds, f):
    return min(f() for _ in range(rounds))


def start_once():
    begin = time.perf_counter()
    manager = mp.Manager()
    manager.dict()
    elapsed = time.perf_counter() - begin
    manager.shutdown()
    return elapsed


def calls(d, n, kind):
    begin = time.perf_counter()
    if kind == "get":
        for i in range(n):
            d[i % 16]
    else:
        for i in range(n):
            d[i % 16] = i
    return (time.perf_counter() - begin) / n


if __name__ == "__main__":
    starts, n = int(sys.argv[1]), int(sys.argv[2])
    start_once()  # warm up: the first start pays imports
    start = min(start_once() for _ in range(starts))
    with mp.Manager() as manager:
        d = manager.dict({i: i for i in range(16)})
        get = best_of(3, lambda: calls(d, n, "get"))
        set_ = best_of(3, lambda: calls(d, n, "set"))
    print(json.dumps({"start": start, "get": get, "set": set_}))
