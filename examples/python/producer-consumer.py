# The Python original of amphi's `producer-consumer` example.
# Seed 001 ("multiprocessing.py"), section 2 "进程间通信", its Queue part.
# The seed's code as the tutorial gives it: the program's imports, this section's
# function and the program's main block, calling that section.
# (The seed's copy is mis-encoded; its Chinese text is restored here, byte for byte where
# the encoding kept it.)

import multiprocessing as mp
import os
import time
from concurrent.futures import ProcessPoolExecutor, as_completed


def main02_process_communication():
    """
    ============================================================
                2. 进程间通信
    ============================================================
    """
    print("\n" + "=" * 60)
    print("2. 进程间通信")
    print("=" * 60)

    # 【Queue 队列】
    print("--- Queue 队列 ---")

    def producer(q):
        for i in range(5):
            q.put(i)
            print(f"  生产: {i}")
        q.put(None)  # 结束信号

    def consumer(q):
        while True:
            item = q.get()
            if item is None:
                break
            print(f"  消费: {item}")

    q = mp.Queue()
    p1 = mp.Process(target=producer, args=(q,))
    p2 = mp.Process(target=consumer, args=(q,))

    p1.start()
    p2.start()

    p1.join()
    p2.join()


if __name__ == "__main__":
    main02_process_communication()
