"""The floor for overhead and start-up: a bare MCPServer with one echo tool, same SDK and transport."""

from mcp.server.mcpserver import MCPServer

server: MCPServer = MCPServer("echo")


@server.tool()
async def echo(text: str) -> str:
    """Return the text."""
    return text


if __name__ == "__main__":
    server.run("stdio")
