"""Run by Python at start-up in the Rasa server (tools/stack.py puts this folder first on its PYTHONPATH).

TensorFlow 2.12, which Rasa 3.6 imports with its policies, tries `from jax import xla_computation` in
its TFLite helpers (tensorflow/lite/python/util.py) and falls back to None on ImportError. Rasa never
converts a JAX model for TFLite, but the attempt imports jax and jaxlib: about 26 MiB of memory in every
Rasa process and half a second of start-up. A None entry in sys.modules makes `import jax` raise
ImportError, the case TensorFlow already handles. Nothing else Rasa loads imports jax (opt_einsum only
on demand, for its jax backend, which Rasa does not use).
"""

import sys

sys.modules.setdefault("jax", None)  # type: ignore[arg-type]
