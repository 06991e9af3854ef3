"""A loopback provider simulator speaking OpenAI's and Gemini's real wire protocols (JSON and SSE).

Used by the tests, the demo and the benchmarks; nothing in it calls a real provider.
"""

from junior_ai.ai.simulator.scenario import Fault, ReplyRule, Scenario
from junior_ai.ai.simulator.server import Simulator
from junior_ai.ai.simulator.state import RequestRecord, SimulatorState

__all__ = ["Fault", "ReplyRule", "RequestRecord", "Scenario", "Simulator", "SimulatorState"]
