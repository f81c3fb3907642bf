# The Python original of amphi's `pipe` example.
# Seed 001 ("multiprocessing.py"), section 2 "进程间通信", its Pipe part.
# The seed's code as the tutorial gives it: the program's imports, this section's
# function and the program's main block, calling that section.
# (The seed's copy is mis-encoded; its Chinese text is restored here, byte for byte where
# the encoding kept it.)
# As the seed has it, the receiver never sees EOFError and the program never ends: the
# parent still holds its copy of child_conn, so the pipe is never closed at both ends.

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

    # 【Pipe 管道】
    print(f"\n--- Pipe 管道 ---")

    def sender(conn):
        for i in range(3):
            conn.send(f"消息 {i}")
            time.sleep(0.05)
        conn.close()

    def receiver(conn):
        while True:
            try:
                msg = conn.recv()
                print(f"  收到: {msg}")
            except EOFError:
                break

    parent_conn, child_conn = mp.Pipe()
    p1 = mp.Process(target=sender, args=(child_conn,))
    p2 = mp.Process(target=receiver, args=(parent_conn,))

    p1.start()
    p2.start()

    p1.join()
    p2.join()


if __name__ == "__main__":
    main02_process_communication()
