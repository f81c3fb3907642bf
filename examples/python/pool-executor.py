# The Python original of amphi's `pool-executor` and `process-pool-executor` examples.
# Seed 001 ("multiprocessing.py"), section 4 "进程池" (process pool).
# The seed's code as the tutorial gives it: the program's imports, this section's
# function and the program's main block, calling that section.
# (The seed's copy is mis-encoded; its Chinese text is restored here, byte for byte where
# the encoding kept it.)
# As the seed has it, CPython stops at the pool: a function defined inside another cannot be
# pickled to send to the worker processes ("Can't pickle local object").

import multiprocessing as mp
import os
import time
from concurrent.futures import ProcessPoolExecutor, as_completed


def main04_process_pool():
    """
    ============================================================
                4. 进程池
    ============================================================
    """
    print("\n" + "=" * 60)
    print("4. 进程池")
    print("=" * 60)

    # 【Pool】
    print("--- multiprocessing.Pool ---")

    def square(x):
        return x * x

    with mp.Pool(processes=4) as pool:
        # map: 同步执行
        results = pool.map(square, range(10))
        print(f"map 结果: {results}")

        # apply: 单个任务
        result = pool.apply(square, (5,))
        print(f"apply 结果: {result}")

        # map_async: 异步执行
        async_result = pool.map_async(square, range(5))
        print(f"map_async 结果: {async_result.get()}")

    # 【ProcessPoolExecutor】推荐使用
    print(f"\n--- ProcessPoolExecutor ---")

    with ProcessPoolExecutor(max_workers=4) as executor:
        # map
        results = list(executor.map(square, range(10)))
        print(f"map 结果: {results}")

        # submit + as_completed
        futures = [executor.submit(square, i) for i in range(5)]
        for future in as_completed(futures):
            print(f"  完成: {future.result()}")


if __name__ == "__main__":
    main04_process_pool()
