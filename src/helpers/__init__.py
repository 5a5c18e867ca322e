"""helpers: the tested helper package of the course "Attention is not just weights".

One small module per concept; notebooks import what they need, e.g.
``from helpers.scenes import make_scenes``.
"""

__version__ = "0.1.0"
