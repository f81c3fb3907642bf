# The Python original of amphi's `bank-account` example.
# Seed 002, "2.2 Lock": cell In [8].
# The seed's code as the tutorial gives it.

from time import sleep
from threading import Thread, Lock

class Account(object):

    def __init__(self):
        self._balance = 0
        self._lock = Lock()

    def deposit(self, money):
        # Only acquires the lock can run the below code
        self._lock.acquire()
        try:
            new_balance = self._balance + money
            sleep(0.01)
            self._balance = new_balance
        finally:
            # Ensure that locks are properly released
            self._lock.release()

    @property
    def balance(self):
        return self._balance


class AddMoneyThread(Thread):

    def __init__(self, account, money):
        super().__init__()
        self._account = account
        self._money = money

    def run(self):
        self._account.deposit(self._money)


def main():
    account = Account()
    threads = []
    for _ in range(100):
        t = AddMoneyThread(account, 1)            # init thread
        threads.append(t)                         # collect all threads
        t.start()                                 # run thread
    for t in threads:
        t.join()                                  # wait thread finish
    print('Accout Balance: ￥%d Yuan' % account.balance)


if __name__ == '__main__':
    main()
