# The Python original of amphi's `attacks-processes` example.
# Seed 000, "Multiprocessing": cell In [6].
# The seed's code as the tutorial gives it.

import multiprocessing
import random
import os

# Create proxy lock that works in multiprocessing
manager = multiprocessing.Manager()
lock = manager.Lock()

# Generator function to lazily yield items
def lazy_return_random_attacks():

    attacks = {"kimura": "upper_body",
               "straight_ankle_lock":"lower_body",
               "arm_triangle":"upper_body",
               "keylock": "upper_body",
               "knee_bar": "lower_body"}

    while True:
        # Use lock to prevent concurrent access
        # to shared state from different processes
        with lock:
            random_attack = random.choice(list(attacks.keys()))

        yield random_attack

# Function to be executed concurrently
def print_attacks(num):

    attacks = lazy_return_random_attacks()

    for i in range(num):
        attack = next(attacks)
        print(f"Process {os.getpid()}: {attack}\n")

# Create process pool
pool = multiprocessing.Pool(processes=10)
pool.map(print_attacks, [10]*5)
