# The Python original of amphi's `downloads` example.
# Seed 002, "2.1 threading": cell In [7].
# The seed's code as the tutorial gives it.

"""
Use `Thread` class in threading module to create thread
the usage is similar to Process Class
    Parameter:
        target    : exec function name
        arg       : arg to function
    Functions:
        thread.start()           : start thread
        thread.join([timeout])   : wait thread finish

"""
from random import randint
from threading import Thread
from time import time, sleep


def download(filename):
    print('Start download %s...' % filename)
    time_to_download = randint(5, 10)
    sleep(time_to_download)
    print('%s Complete! Total time spent:  %d seconds' % (filename, time_to_download))

def main():
    start = time()
    t1 = Thread(target=download, args=('Python从入门到住院.pdf',))
    t1.start()
    t2 = Thread(target=download, args=('Peking Hot.avi',))
    t2.start()
    t1.join()
    t2.join()
    end = time()
    print('Total time spent:  %.2f seconds.' % (end - start))

if __name__ == '__main__':
    main()
