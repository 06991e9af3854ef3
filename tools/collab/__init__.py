"""The collaborative tools: a critiqued consensus and a judged debate between several AIs."""
