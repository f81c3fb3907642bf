# The Python original of amphi's `four-processes` example.
# Seed 004, "Use Multiprocessing": cells In [20], In [24] and In [25] ("Do 4 times").
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


# Do 4 times
if __name__ == '__main__':
    whoami('Main program')
    for i in range(4):
        p = multiprocessing.Process(target=do_job, args=(f'loop {i}',))
        p.start()
