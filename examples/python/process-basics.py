# The Python original of amphi's `process-basics` example.
# Seed 001 ("multiprocessing.py"), section 1 "进程基础" (process basics).
# The seed's code as the tutorial gives it: the program's imports, this section's
# function and the program's main block, calling that section.
# (The seed's copy is mis-encoded; its Chinese text is restored here, byte for byte where
# the encoding kept it.)

import multiprocessing as mp
import os
import time
from concurrent.futures import ProcessPoolExecutor, as_completed


def main01_process_basics():
    """
    ============================================================
                    1. 进程基础
    ============================================================
    """
    print("=" * 60)
    print("1. 进程基础")
    print("=" * 60)

    print(f"主进程 PID: {os.getpid()}")

    # 【创建进程】
    def worker(name):
        print(f"  子进程 {name} 开始，PID={os.getpid()}")
        time.sleep(0.1)
        print(f"  子进程 {name} 结束")

    print("\n创建进程:")
    p1 = mp.Process(target=worker, args=("A",))
    p2 = mp.Process(target=worker, args=("B",))

    p1.start()
    p2.start()

    p1.join()
    p2.join()

    print("所有进程完成")

    # 【进程属性】
    print(f"\n--- 进程属性 ---")
    p = mp.Process(target=lambda: None, name="MyProcess")
    print(f"进程名: {p.name}")
    print(f"PID: {p.pid}")  # 启动前为 None
    print(f"是否存活: {p.is_alive()}")
    print(f"是否守护进程: {p.daemon}")


if __name__ == "__main__":
    main01_process_basics()
