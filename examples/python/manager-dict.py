# The Python original of amphi's `manager-dict` example.
# Seed 003, section 6 "`Manager`".
# The seed's code as the tutorial gives it.

import multiprocessing

def worker(d, key, value):
    d[key] = value

if __name__ == '__main__':
    with multiprocessing.Manager() as manager:
        shared_dict = manager.dict()

        p1 = multiprocessing.Process(target=worker, args=(shared_dict, 'a', 1))
        p2 = multiprocessing.Process(target=worker, args=(shared_dict, 'b', 2))

        p1.start()
        p2.start()

        p1.join()
        p2.join()

        print(shared_dict)  # 輸出: {'a': 1, 'b': 2}
