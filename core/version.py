"""The version of Junior AI: this line is the one place it is written (pyproject.toml reads it when building).

A literal rather than `importlib.metadata.version(...)`: that lookup costs ~30 ms of every start-up.
"""

__version__ = "0.1.0"
