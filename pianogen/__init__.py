"""pianogen: piano music generation learned from MAESTRO.

Layers (each usable alone, data flows one way):
``data`` -> ``representations`` -> ``models`` -> ``training`` -> ``sampling``
-> ``audio`` / ``plots`` -> ``evaluation``.

The top-level names below are imported lazily so that ``import pianogen.data``
never pulls in torch (the data path must stay fast).
"""

from __future__ import annotations

__version__ = "0.1.0"

_LAZY = {
    "sample": ("pianogen.sampling", "sample"),
    "sample_gan": ("pianogen.sampling", "sample_gan"),
    "interpolate": ("pianogen.sampling", "interpolate"),
}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        module, attr = _LAZY[name]
        return getattr(importlib.import_module(module), attr)
    raise AttributeError(f"module 'pianogen' has no attribute {name!r}")
