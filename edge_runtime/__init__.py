"""Edge runtime for INT8 TFLite semantic segmentation (Raspberry Pi, Coral, laptops).

The device side (this package minus ``edge_runtime.host``) never imports TensorFlow.
"""

__version__ = "0.1.0"
