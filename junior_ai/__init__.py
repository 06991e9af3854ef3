"""Junior AI: ask other AI models for second opinions, from an MCP host or from Python.

The repository keeps its layers as top-level folders (`server/`, `tools/`, `ai/`, `core/`); they install as the
subpackages of this one import package (`junior_ai.server`, ...), so a wheel never puts generic names such as
`core` or `tools` into site-packages.
"""

from junior_ai.core.version import __version__

__all__ = ["__version__"]
