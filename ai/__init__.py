"""The AI layer: provider clients, call_ai_async, call_multiple_ais, and the provider simulator."""
