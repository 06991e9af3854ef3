"""`python -m junior_ai`: the same entry point as the `junior-ai` console script."""

from junior_ai.server.launch import entry

entry()
