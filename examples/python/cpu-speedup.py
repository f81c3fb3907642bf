# The Python original of amphi's `cpu-speedup` and `process-cpu-speedup` examples.
# Seed 001 ("multiprocessing.py"), section 5 "CPU 密集型任务对比" (CPU-bound comparison).
# The seed's code as the tutorial gives it: the program's imports, this section's
# function and the program's main block, calling that section.
# (The seed's copy is mis-encoded; its Chinese text is restored here, byte for byte where
# the encoding kept it.)

import multiprocessing as mp
import os
import time
from concurrent.futures import ProcessPoolExecutor, as_completed


def cpu_bound_task(n):
    """CPU 密集型任务"""
    total = 0
    for i in range(n):
        total += i * i
    return total


def main05_cpu_bound_comparison():
    """
    ============================================================
            5. CPU 密集型任务对比
    ============================================================
    """
    print("\n" + "=" * 60)
    print("5. CPU 密集型任务对比")
    print("=" * 60)

    n = 1000000
    tasks = [n] * 4

    # 【串行执行】
    print("串行执行:")
    start = time.perf_counter()
    results = [cpu_bound_task(t) for t in tasks]
    serial_time = time.perf_counter() - start
    print(f"  耗时: {serial_time:.2f}秒")

    # 【多进程执行】
    print(f"\n多进程执行:")
    start = time.perf_counter()
    with ProcessPoolExecutor(max_workers=4) as executor:
        results = list(executor.map(cpu_bound_task, tasks))
    parallel_time = time.perf_counter() - start
    print(f"  耗时: {parallel_time:.2f}秒")
    print(f"  加速比: {serial_time / parallel_time:.2f}x")


if __name__ == "__main__":
    main05_cpu_bound_comparison()
