"""`make bench`: the app's speed and memory at 100,000 and 1,000,000 leads, beside the usual way.

Each measurement is a module with `measure(bench) -> list[Figure]`; `__main__` runs them in
turn (never in parallel: the machine has 2 cores) and prints one table.
"""
