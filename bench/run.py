"""Regenerate the committed benchmark report of this machine: bench/results/<machine>.md.

    python bench/run.py [--quick]

A thin entry point: the benchmarks live in the package (``edge_runtime.bench``), what is
measured is in bench/scenarios.yaml.
"""

from edge_runtime.bench.system import main

if __name__ == "__main__":
    main()
