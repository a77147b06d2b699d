"""Command-line entry points (``edge-runtime``, ``edge-bench``)."""
