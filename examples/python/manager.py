# The Python original of amphi's `manager` example.
# Seed 001 ("multiprocessing.py"), section 3 "共享内存", its Manager part.
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

    # 【Manager 共享复杂对象】
    print(f"\n--- Manager 共享对象 ---")

    def modify_shared_dict(d, l):
        d['count'] = d.get('count', 0) + 1
        l.append(os.getpid())

    with mp.Manager() as manager:
        shared_dict = manager.dict()
        shared_list = manager.list()

        processes = [
            mp.Process(target=modify_shared_dict, args=(shared_dict, shared_list))
            for _ in range(3)
        ]

        for p in processes:
            p.start()
        for p in processes:
            p.join()

        print(f"共享字典: {dict(shared_dict)}")
        print(f"共享列表: {list(shared_list)}")


if __name__ == "__main__":
    main03_shared_memory()
