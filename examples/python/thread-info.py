# The Python original of amphi's `thread-info` example.
# Seed 004, "Threading": cells In [None] and In [30].
# The seed's code as the tutorial gives it, its cells joined into one program.

import threading
import time


print(f'Active count: {threading.active_count()}\n')  # 獲取已激活的線程數
print(f'All Threads:\n{threading.enumerate()}\n')  # 查看所有線程信息
print(f'Current thread:\n{threading.current_thread()}\n')  # 查看現在正在運行的線程
