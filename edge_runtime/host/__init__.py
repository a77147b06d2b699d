"""Host companion: datasets, U-Net / FCN-32s builders, pruning, INT8 export, evaluation.

Installed with the ``host`` extra. The device side never imports this package.
"""
