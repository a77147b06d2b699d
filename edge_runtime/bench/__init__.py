"""``edge-bench``: latency, memory, size, sparsity and accuracy of models, one report."""
