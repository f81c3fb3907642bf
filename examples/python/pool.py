# The Python original of amphi's `pool` and `process-pool` examples.
# Seed 004, "進程池 (Pool)": cell In [36].
# The seed's code as the tutorial gives it.

import multiprocessing as mp

def job(x):
    return x**2


def multicore():
    # Init a Pool
    pool = mp.Pool(processes=3)  # 自定義核數量

    # 在 map() 中需要放入函數和需要迭代運算的值，然後它會自動分配給CPU核，返回結果
    res = pool.map(job, range(10)); print(res)

    # apply_async() 一次只能傳遞一個值，它只會放入一個核進行運算，但是傳入值時要注意是可迭代的 (tuple)
    res = pool.apply_async(job, (2,)); print(res.get())  # 用get獲得結果

    # Iterate apply_async() results
    multi_res = [pool.apply_async(job, (i,)) for i in range(10)]
    print([res.get() for res in multi_res])  # 從迭代器中取出


if __name__ == '__main__':
    multicore()
