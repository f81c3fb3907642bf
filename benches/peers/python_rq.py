"""The RQ peer of benches/redis_pool.rs: Python's most used Redis task queue, run as fast as it
goes. WORKERS `rq.SimpleWorker`s (which run each job in the worker process instead of forking
one per job) serve one queue; the client enqueues TASKS jobs of a trivial function (pipelined)
and waits until RQ has recorded every one as finished. Prints one JSON object:
{"rq_task": seconds per task}.

    python3 python_rq.py SOCKET WORKERS TASKS
"""

import json
import multiprocessing
import sys
import time

import redis
from rq import Queue, SimpleWorker
from rq.registry import FinishedJobRegistry

QUEUE = "amphi-bench-rq"


def same(x):
    return x


def work(socket):
    connection = redis.Redis(unix_socket_path=socket)
    SimpleWorker([Queue(QUEUE, connection=connection)], connection=connection).work(
        logging_level="WARNING"
    )


def main():
    socket, workers, tasks = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    connection = redis.Redis(unix_socket_path=socket)
    queue = Queue(QUEUE, connection=connection)
    finished = FinishedJobRegistry(queue=queue)
    procs = [
        multiprocessing.Process(target=work, args=(socket,), daemon=True)
        for _ in range(workers)
    ]
    for p in procs:
        p.start()

    def run(count):
        start = finished.count
        with connection.pipeline() as pipe:
            jobs = [
                Queue.prepare_data("python_rq.same", args=(i,), result_ttl=60)
                for i in range(count)
            ]
            queue.enqueue_many(jobs, pipeline=pipe)
            pipe.execute()
        while finished.count - start < count:
            time.sleep(0.005)

    run(50)  # warm-up: the workers are up and have imported the job's module
    began = time.perf_counter()
    run(tasks)
    elapsed = time.perf_counter() - began
    for p in procs:
        p.kill()
    print(json.dumps({"rq_task": elapsed / tasks}))


if __name__ == "__main__":
    main()
