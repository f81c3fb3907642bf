# The Python original of amphi's `start-methods` example.
# Seed 001 ("multiprocessing.py"), section 6 "进程启动方式" (start methods).
# The seed's code as the tutorial gives it: the program's imports, this section's
# function and the program's main block, calling that section.
# (The seed's copy is mis-encoded; its Chinese text is restored here, byte for byte where
# the encoding kept it.)

import multiprocessing as mp
import os
import time
from concurrent.futures import ProcessPoolExecutor, as_completed


def main06_process_context():
    """
    ============================================================
                6. 进程启动方式
    ============================================================
    """
    print("\n" + "=" * 60)
    print("6. 进程启动方式")
    print("=" * 60)

    print("""
    【进程启动方式】

    1. spawn（默认在 Windows 和 macOS）
       - 启动新的 Python 解释器
       - 只继承必要的资源
       - 更安全，但启动较慢

    2. fork（默认在 Unix）
       - 使用 os.fork()
       - 继承父进程的所有资源
       - 启动快，但可能有问题（如多线程程序）

    3. forkserver
       - 启动服务器进程，由服务器 fork 新进程
       - 结合了 spawn 和 fork 的优点
    """)

    # 【设置启动方式】
    # mp.set_start_method('spawn')  # 必须在主模块的 if __name__ == '__main__' 块中

    print(f"当前启动方式: {mp.get_start_method()}")

    # 【使用 get_context 创建特定启动方式的进程】
    ctx = mp.get_context('spawn')
    print(f"使用 spawn 上下文")


if __name__ == "__main__":
    main06_process_context()
