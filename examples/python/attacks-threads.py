# The Python original of amphi's `attacks-threads` example.
# Seed 000, "Threading": cell In [4].
# The seed's code as the tutorial gives it.

import threading
import random

# Global lock to synchronize thread access to shared generator
lock = threading.Lock()

# To store threads
threads = []

# Generator lazily provides random items from a list
def lazy_return_random_attacks():

    # Collection of items to randomly yield
    attacks = {"kimura": "upper_body",
               "straight_ankle_lock":"lower_body",
               "arm_triangle":"upper_body",
               "keylock": "upper_body",
               "knee_bar": "lower_body"}

    while True:
        # Use lock to prevent concurrent access to shared state
        with lock:
            random_attack = random.choice(list(attacks.keys()))

        # Yield next random item
        yield random_attack

# Function to consume random items from generator
def thread_function(thread_id):

    # Get generator
    attacks = lazy_return_random_attacks()

    # Print out 10 random items
    for i in range(10):
        attack = next(attacks)
        print(f"Thread {thread_id}: {attack}")

# Create and start 5 threads to demonstrate concurrence
for i in range(5):
    thread = threading.Thread(target=thread_function, args=(i,))
    threads.append(thread)
    thread.start()

# Wait for threads to complete
for thread in threads:
    thread.join()
