"""Python's peer for benches/manager.rs: multiprocessing.Manager() start-up and dict proxy
round trips.

Prints one JSON object: {"start": seconds from Manager() to its first dict proxy,
"get": seconds per d[k], "set": seconds per d[k] = v}.
Usage: python3 python_manager.py STARTS CALLS

Socket mode: a SyncManager served by its own process at an address (a Unix socket, or TCP on
the loopback) with an authkey, reached over that socket: prints {"get", "set", "lock"}, the
last per lock.acquire() and lock.release() pair.
Usage: python3 python_manager.py socket unix|tcp CALLS
"""
import json
import multiprocessing as mp
import multiprocessing.managers
import os
import sys
import tempfile
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


def lock_calls(lock, n):
    begin = time.perf_counter()
    for _ in range(n):
        lock.acquire()
        lock.release()
    return (time.perf_counter() - begin) / n


def socket_figures(kind, n):
    if kind == "unix":
        directory = tempfile.mkdtemp()
        address = os.path.join(directory, "manager.sock")
    else:
        address = ("127.0.0.1", 0)
    manager = mp.managers.SyncManager(address=address, authkey=os.urandom(32))
    manager.start()
    try:
        d = manager.dict({i: i for i in range(16)})
        lock = manager.Lock()
        get = best_of(3, lambda: calls(d, n, "get"))
        set_ = best_of(3, lambda: calls(d, n, "set"))
        locked = best_of(3, lambda: lock_calls(lock, n))
    finally:
        manager.shutdown()
    return {"get": get, "set": set_, "lock": locked}


if __name__ == "__main__":
    if sys.argv[1] == "socket":
        print(json.dumps(socket_figures(sys.argv[2], int(sys.argv[3]))))
        sys.exit(0)
    starts, n = int(sys.argv[1]), int(sys.argv[2])
    start_once()  # warm up: the first start pays imports
    start = min(start_once() for _ in range(starts))
    with mp.Manager() as manager:
        d = manager.dict({i: i for i in range(16)})
        get = best_of(3, lambda: calls(d, n, "get"))
        set_ = best_of(3, lambda: calls(d, n, "set"))
    print(json.dumps({"start": start, "get": get, "set": set_}))
