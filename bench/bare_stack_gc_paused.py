"""The bare-stack floor imported as `app.py` imports it, with the garbage collector paused (a
reference beside the floor, not the floor: it shows how much of `import app`'s gain from the
pause is on the stack's own modules)."""

import gc

gc.disable()
import bench.bare_stack  # noqa: E402, F401

gc.enable()
