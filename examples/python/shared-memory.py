# The Python original of amphi's `shared-memory` example.
# Seed 001 ("multiprocessing.py"), section 3 "共享内存", its Value and Array and lock parts.
# The seed's code as the tutorial gives it: the program's imports, this section's
# function and the program's main block, calling that section.
# (The seed's copy is mis-encoded; its Chinese text is restored here, byte for byte where
# the encoding kept it.)

import multiprocessing as mp
import os
import time
from concurrent.futures import ProcessPoolExecutor, as_completed


def main03_shared_memory():
    """
    ============================================================
                3. 共享内存
    ============================================================
    """
    print("\n" + "=" * 60)
    print("3. 共享内存")
    print("=" * 60)

    # 【Value 和 Array】
    print("--- Value 和 Array ---")

    def increment_shared(val, arr):
        for _ in range(100):
            val.value += 1
        for i in range(len(arr)):
            arr[i] += 1

    shared_value = mp.Value('i', 0)  # 'i' 表示整数
    shared_array = mp.Array('d', [0.0, 0.0, 0.0])  # 'd' 表示双精度浮点

    processes = [
        mp.Process(target=increment_shared, args=(shared_value, shared_array))
        for _ in range(2)
    ]

    for p in processes:
        p.start()
    for p in processes:
        p.join()

    print(f"共享值（可能有竞态）: {shared_value.value}")
    print(f"共享数组: {list(shared_array)}")

    # 【使用锁保护共享数据】
    print(f"\n--- 使用锁保护 ---")

    def safe_increment(val, lock):
        for _ in range(100):
            with lock:
                val.value += 1

    shared_value = mp.Value('i', 0)
    lock = mp.Lock()

    processes = [
        mp.Process(target=safe_increment, args=(shared_value, lock))
        for _ in range(2)
    ]

    for p in processes:
        p.start()
    for p in processes:
        p.join()

    print(f"使用锁后的值: {shared_value.value}")


if __name__ == "__main__":
    main03_shared_memory()
