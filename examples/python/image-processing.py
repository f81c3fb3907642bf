# The Python original of amphi's `image-processing` example.
# Seed 001 ("multiprocessing.py"), section 7 "实际应用示例" (parallel image processing, simulated).
# The seed's code as the tutorial gives it: the program's imports, this section's
# function and the program's main block, calling that section.
# (The seed's copy is mis-encoded; its Chinese text is restored here, byte for byte where
# the encoding kept it.)
# As the seed has it, CPython stops at the pool: a function defined inside another cannot be
# pickled to send to the worker processes ("Can't pickle local object").

import multiprocessing as mp
import os
import time
from concurrent.futures import ProcessPoolExecutor, as_completed


def main07_practical_example():
    """
    ============================================================
                7. 实际应用示例
    ============================================================
    """
    print("\n" + "=" * 60)
    print("7. 实际应用示例：并行图像处理（模拟）")
    print("=" * 60)

    def process_image(image_path):
        """模拟图像处理"""
        time.sleep(0.1)  # 模拟处理时间
        return f"处理完成: {image_path}"

    images = [f"image_{i}.jpg" for i in range(8)]

    print("串行处理:")
    start = time.perf_counter()
    results = [process_image(img) for img in images]
    print(f"  耗时: {time.perf_counter() - start:.2f}秒")

    print(f"\n并行处理:")
    start = time.perf_counter()
    with ProcessPoolExecutor(max_workers=4) as executor:
        results = list(executor.map(process_image, images))
    print(f"  耗时: {time.perf_counter() - start:.2f}秒")

    for r in results[:3]:
        print(f"  {r}")


if __name__ == "__main__":
    main07_practical_example()
