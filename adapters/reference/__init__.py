"""The reference implementation: an executable statement of the documented semantics.

Pure Python (no NumPy, no backend under test): exact or correctly rounded values,
with error bounds that say how far a conforming floating-point backend may be.
"""
