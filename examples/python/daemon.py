# The Python original of amphi's `daemon` and `daemon-threads` examples.
# Seed 004, "Deamon Process": cell In [31].
# The seed's code as the tutorial gives it.

import multiprocessing
import time
import sys

def daemon():
    name = multiprocessing.current_process().name
    print(f'[{time.time() - tic:.2f}] Starting: {name}')
    time.sleep(5)
    print(f'[{time.time() - tic:.2f}] Exiting: {name}')

def non_daemon():
    name = multiprocessing.current_process().name
    print(f'[{time.time() - tic:.2f}] Starting: {name}')
    print(f'[{time.time() - tic:.2f}] Exiting: {name}')

if __name__ == '__main__':
    tic = time.time()

    d = multiprocessing.Process(name='daemon',
                                target=daemon)
    d.daemon = True  # 守護進程就是不阻擋主程序退出，自己幹自己的

    n = multiprocessing.Process(name='non-daemon',
                                target=non_daemon)
    n.daemon = False

    d.start()
    n.start()

    d.join(1)  # 等 d job 完成才繼續，等待n久就不等了
    print('d.is_alive():', d.is_alive())
    n.join()
