# The Python original of amphi's `washer-dryer` example.
# Seed 004, "Multiprocessing with Queue": its three cells.
# The seed's code as the tutorial gives it, its cells joined into one program.

import multiprocessing as mp
import time
import os


def washer(dishes, output):
    for dish in dishes:
        print(f'[{time.time() - tic:.2f}] Washing dish ({os.getpid()}): {dish}')
        time.sleep(1)
        output.put(dish)

def dryer(input):
    name = mp.current_process().name
    while True:
        dish = input.get()
        print(f'[{time.time() - tic:.2f}] {name}({os.getpid()}) - Drying dish: {dish}')
        time.sleep(5)
        print(f'[{time.time() - tic:.2f}] {name}({os.getpid()}) - Done: {dish}')
        input.task_done()  # tell queue that the task is done


if __name__ == '__main__':
    tic = time.time()
    dish_queue = mp.JoinableQueue()

    # 逐個加載 Processor 到 dish_queue
    dryer_proc1 = mp.Process(target=dryer, args=(dish_queue,))
    dryer_proc2 = mp.Process(target=dryer, args=(dish_queue,))
    dryer_proc1.daemon = True  # 會在背景一直等著執行 This must be set before start() is called.
    dryer_proc2.daemon = True  # 總共 2 dryers
    dryer_proc1.start()  # 開始進程 1
    dryer_proc2.start()  # 開始進程 2

    # 開始工作
    dishes = ['apple', 'banana', 'orange', 'salad']
    washer(dishes, dish_queue)  # washer 先逐個洗盤子，洗完的盤子丟到 dish_queue
    print('All wash work done!!!')
    dish_queue.join()  # Block until all items in the queue have been gotten and processed.
    print('All Done!')
