# The Python original of amphi's `early-stop` example.
# Seed 004, "Use Multiprocessing": cells In [20], In [24] and In [29] ("Early stop").
# The seed's code as the tutorial gives it, its cells joined into one program.

import multiprocessing
import os
import time


def do_job(name):
    whoami(name)

def whoami(name):
    print(f'Process {os.getpid()} - doing: {name}')

def loopy(name):
    whoami(name)
    start = 1
    n_loop = 100000
    for i in range(start, n_loop):
        print(f'Doing {i} of {n_loop}')
        time.sleep(1)


# Early stop
if __name__ == '__main__':
    whoami('Main program')
    p = multiprocessing.Process(target=loopy, args=(f'loopy',))

    # 在背景開始作業
    p.start()

    # 主執行緒繼續執行自己的工作
    for _ in range(3):
        print('Main processing...')
        time.sleep(4)

    # 提前終止
    p.terminate()  # 如果沒有這行會一直等到 p 結束才會運行後面
    print('Done.')
