"""Python's peer for benches/process_queue.rs: multiprocessing.Queue and Pipe between two
processes (the fork start method, Python's default on Linux).

Measures, as the Rust benchmark does, each the best of ROUNDS rounds with a fresh child:
- queue_throughput: a child puts N ints on a multiprocessing.Queue, the parent gets them;
  seconds per item, from a Barrier both pass to the last item got;
- queue_ping_pong: two queues, the parent puts on ping and gets from pong, the child echoes;
  seconds per round trip, after WARM_UP untimed ones;
- pipe_throughput: the same over a one-way Pipe(duplex=False);
- pipe_ping_pong: the same over a duplex Pipe().

Prints one JSON object: {"queue_throughput": s, "queue_ping_pong": s, "pipe_throughput": s,
"pipe_ping_pong": s}.
Usage: python3 python_queue.py N ROUND_TRIPS ROUNDS
"""
import json
import multiprocessing as mp
import sys
import time

WARM_UP = 1000
context = mp.get_context("fork")


def put_n(queue, start, n):
    start.wait()
    for item in range(n):
        queue.put(item)


def send_n(sender, start, n):
    start.wait()
    for item in range(n):
        sender.send(item)


def echo_queue(ping, pong, n):
    for _ in range(n):
        pong.put(ping.get())


def echo_pipe(end, n):
    for _ in range(n):
        end.send(end.recv())


def throughput(child, make, n):
    """Seconds per item: make() gives (the child's end, the parent's take)."""
    end, take = make()
    start = context.Barrier(2)
    worker = context.Process(target=child, args=(end, start, n))
    worker.start()
    start.wait()
    began = time.perf_counter()
    total = 0
    for _ in range(n):
        total += take()
    elapsed = time.perf_counter() - began
    worker.join()
    assert total == n * (n - 1) // 2
    return elapsed / n


def queue_throughput(n):
    def make():
        queue = context.Queue()
        return queue, queue.get

    return throughput(put_n, make, n)


def pipe_throughput(n):
    def make():
        receiver, sender = context.Pipe(duplex=False)
        return sender, receiver.recv

    return throughput(send_n, make, n)


def ping_pong(child, args, round_trip, n):
    """Seconds per round trip: WARM_UP untimed, then n timed."""
    worker = context.Process(target=child, args=args + (WARM_UP + n,))
    worker.start()
    for item in range(WARM_UP):
        assert round_trip(item) == item
    began = time.perf_counter()
    for item in range(n):
        assert round_trip(item) == item
    elapsed = time.perf_counter() - began
    worker.join()
    return elapsed / n


def queue_ping_pong(n):
    ping, pong = context.Queue(), context.Queue()

    def round_trip(item):
        ping.put(item)
        return pong.get()

    return ping_pong(echo_queue, (ping, pong), round_trip, n)


def pipe_ping_pong(n):
    here, there = context.Pipe()

    def round_trip(item):
        here.send(item)
        return here.recv()

    return ping_pong(echo_pipe, (there,), round_trip, n)


if __name__ == "__main__":
    n, round_trips, rounds = (int(arg) for arg in sys.argv[1:4])
    figures = {
        "queue_throughput": min(queue_throughput(n) for _ in range(rounds)),
        "queue_ping_pong": min(queue_ping_pong(round_trips) for _ in range(rounds)),
        "pipe_throughput": min(pipe_throughput(n) for _ in range(rounds)),
        "pipe_ping_pong": min(pipe_ping_pong(round_trips) for _ in range(rounds)),
    }
    print(json.dumps(figures))
