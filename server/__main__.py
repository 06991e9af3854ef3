"""`python -m server`: the same entry point as the `junior-ai` console script."""

from server.cli import main

raise SystemExit(main())
