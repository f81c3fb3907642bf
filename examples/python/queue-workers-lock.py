# The Python original of amphi's `queue-workers-lock` example.
# Seed 004, "鎖定（Lock）": cell In [17].
# The seed's code as the tutorial gives it.

import time
import threading
import queue

class Worker(threading.Thread):
    def __init__(self, queue, num, lock):
        threading.Thread.__init__(self)
        self.queue = queue
        self.num = num
        self.lock = lock

    def run(self):
        while self.queue.qsize() > 0:
            msg = self.queue.get()

            # 取得 lock
            self.lock.acquire()
            print(f"Lock acquired by Worker {self.num}")

            # 不能讓多個執行緒同時進的工作
            print(f"Worker {self.num}: {msg}")
            time.sleep(1)

            # 釋放 lock
            print(f"Lock released by Worker {self.num}")
            self.lock.release()

my_queue = queue.Queue()
for i in range(5):
    my_queue.put(f"Data {i}")

# 建立 lock
lock = threading.Lock()

my_worker1 = Worker(my_queue, 1, lock)
my_worker2 = Worker(my_queue, 2, lock)

my_worker1.start()
my_worker2.start()

my_worker1.join()
my_worker2.join()

print("Done.")
