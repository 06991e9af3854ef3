"""The tools, as plain async functions over the AI layer: no MCP imports, testable without a server."""
