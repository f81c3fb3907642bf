"""The plain-Python peer of benches/redis_pool.rs: a task stream with a consumer group, WORKERS
worker processes each reading it with XREADGROUP (COUNT 1, BLOCK), running a trivial task,
XADDing its result to the client's stream, then XACK and XDEL in one pipeline (as amphi's
workers do), and a client that XADDs TASKS tasks (pipelined) and reads their results with
XREAD BLOCK. Prints one JSON object: {"redis_task": seconds per task}.

    python3 python_redis_worker.py SOCKET WORKERS TASKS
"""

import json
import multiprocessing
import sys
import time

import redis

STREAM = "python:tasks"
GROUP = "workers"


def work(socket, name, stop_after):
    r = redis.Redis(unix_socket_path=socket)
    done = 0
    while done < stop_after:
        reply = r.xreadgroup(GROUP, name, {STREAM: ">"}, count=1, block=100)
        for _, entries in reply or []:
            for entry_id, fields in entries:
                value = json.loads(fields[b"args"])
                pipe = r.pipeline(transaction=False)
                pipe.xadd(fields[b"reply"], {"task": fields[b"task"], "result": json.dumps(value)})
                pipe.xack(STREAM, GROUP, entry_id)
                pipe.xdel(STREAM, entry_id)
                pipe.execute()
                done += 1
                if fields[b"task"] == b"stop":
                    return


def main():
    socket, workers, tasks = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    r = redis.Redis(unix_socket_path=socket)
    r.delete(STREAM, "python:results")
    r.xgroup_create(STREAM, GROUP, id="0", mkstream=True)
    procs = [
        multiprocessing.Process(target=work, args=(socket, f"py-{i}", 10**12), daemon=True)
        for i in range(workers)
    ]
    for p in procs:
        p.start()
    results = "python:results"

    def run(count):
        pipe = r.pipeline(transaction=False)
        for i in range(count):
            pipe.xadd(STREAM, {"task": i, "reply": results, "args": json.dumps(i)})
        pipe.execute()
        seen, last = 0, "0-0"
        while seen < count:
            reply = r.xread({results: last}, count=1024, block=1000)
            for _, entries in reply or []:
                seen += len(entries)
                last = entries[-1][0]
        r.delete(results)

    run(200)  # warm-up
    began = time.perf_counter()
    run(tasks)
    elapsed = time.perf_counter() - began
    for p in procs:
        p.kill()
    print(json.dumps({"redis_task": elapsed / tasks}))


if __name__ == "__main__":
    main()
