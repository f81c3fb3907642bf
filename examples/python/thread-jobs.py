# The Python original of amphi's `thread-jobs` example.
# Seed 004, "Threading": cells In [None], In [3], In [34] and In [35].
# The seed's code as the tutorial gives it, its cells joined into one program.

import threading
import time


from functools import wraps

def timer(orig_fun):
    import time
    import threading

    @wraps(orig_fun)
    def wrapper(tic, *args, **kwargs):
        print(f'{time.time() - tic:06.5f} - Start {orig_fun.__name__} at thread: {threading.current_thread()}')
        orig_fun(tic, *args, **kwargs)
        print(f'{time.time() - tic:06.5f} - Done {orig_fun.__name__}')

    return wrapper


@timer
def job_long(tic):
    time.sleep(5)


@timer
def job_short(tic):
    time.sleep(2)


def main():
    tic = time.time()
    print('Start main thread')

    # 建立一個子執行緒
    td1 = threading.Thread(target=job_long, name='task1', kwargs={'tic': tic})
    td2 = threading.Thread(target=job_short, name='task2', kwargs={'tic': tic})

    # 執行該子執行緒
    td1.start()
    td2.start()

    # 主執行緒繼續執行自己的工作
    for i in range(3):
        print(f"{time.time() - tic:06.5f} - Main thread working...", i)
        time.sleep(1)

    td1.join() # 附加到主線程 Wait until thread td1 terminates its task
    td2.join() # 附加到主線程 Wait until thread td2 terminates its task

    print('\nAll done!')


if __name__ == '__main__':
    main()
