"""The MCP server, its lifespan and tool registrations, and the `junior-ai` command line."""
