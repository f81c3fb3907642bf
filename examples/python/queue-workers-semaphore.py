# The Python original of amphi's `queue-workers-semaphore` example.
# Seed 004, "旗標（Semaphore）": cell In [19].
# The seed's code as the tutorial gives it.

import time
import threading
import queue

class Worker(threading.Thread):
    def __init__(self, queue, num, semaphore):
        threading.Thread.__init__(self)
        self.queue = queue
        self.num = num
        self.semaphore = semaphore

    def run(self):
        while self.queue.qsize() > 0:
            msg = self.queue.get()

            # 取得旗標
            self.semaphore.acquire()
            print(f"Semaphore acquired by Worker {self.num} ({self.semaphore._value} left)")

            # 僅允許有限個執行緒同時進的工作
            print(f"Worker {self.num}: {msg}")
            time.sleep(1)

            # 釋放旗標
            print(f"Semaphore released by Worker {self.num} ({self.semaphore._value} left)")
            self.semaphore.release()

my_queue = queue.Queue()
for i in range(5):
    my_queue.put(f"Data {i}")

# 建立旗標
maxconnections = 2
semaphore = threading.Semaphore(maxconnections)

my_worker1 = Worker(my_queue, 1, semaphore)
my_worker2 = Worker(my_queue, 2, semaphore)
my_worker3 = Worker(my_queue, 3, semaphore)

my_worker1.start()
my_worker2.start()
my_worker3.start()

my_worker1.join()
my_worker2.join()
my_worker3.join()

print("Done.")
