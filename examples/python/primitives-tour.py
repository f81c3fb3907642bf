# The Python original of amphi's `primitives-tour` example.
# Seed 003, sections 1-5 and 7 (section 6, the Manager, is `manager-dict`).
# The seed's code as the tutorial gives it, its snippets one after another.

# 1. `Lock`
import multiprocessing

lock = multiprocessing.Lock()

def critical_section():
    with lock:
        # 這裡的代碼在同一時刻只能由一個進程執行
        pass


# 2. `RLock` (可重入鎖)
import multiprocessing

rlock = multiprocessing.RLock()

def critical_section():
    with rlock:
        # 這裡的代碼在同一時刻只能由一個進程執行
        pass


# 3. `Semaphore`
import multiprocessing

sem = multiprocessing.Semaphore(2)  # 允許最多兩個進程同時執行

def critical_section():
    with sem:
        # 這裡的代碼最多由兩個進程同時執行
        pass


# 4. `Event`
import multiprocessing
import time

event = multiprocessing.Event()

def worker():
    event.wait()  # 等待事件被設置
    print("Event received!")

def trigger_event():
    time.sleep(2)
    event.set()  # 設置事件，通知所有等待的進程

if __name__ == '__main__':
    p1 = multiprocessing.Process(target=worker)
    p2 = multiprocessing.Process(target=trigger_event)

    p1.start()
    p2.start()

    p1.join()
    p2.join()


# 5. `Condition`
import multiprocessing

condition = multiprocessing.Condition()

def worker():
    with condition:
        # 等待條件變為真
        condition.wait()
        print("Condition met!")

def signal_condition():
    with condition:
        # 設置條件並通知所有等待的進程
        condition.notify_all()

if __name__ == '__main__':
    p1 = multiprocessing.Process(target=worker)
    p2 = multiprocessing.Process(target=signal_condition)

    p1.start()
    p2.start()

    p1.join()
    p2.join()


# 7. `Value` 和 `Array`
import multiprocessing
import time

def increment(counter, lock):
    for _ in range(100):
        with lock:
            counter.value += 1
        time.sleep(0.01)

if __name__ == '__main__':
    counter = multiprocessing.Value('i', 0)
    lock = multiprocessing.Lock()

    p1 = multiprocessing.Process(target=increment, args=(counter, lock))
    p2 = multiprocessing.Process(target=increment, args=(counter, lock))

    p1.start()
    p2.start()

    p1.join()
    p2.join()

    print(f"Final counter value: {counter.value}")
