"""The installed version of Junior AI (one place, read by the server and the CLI)."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("junior-ai")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+source"
