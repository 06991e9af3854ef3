"""A loopback provider simulator speaking OpenAI's and Gemini's real wire protocols (JSON and SSE).

Used by the tests, the demo and the benchmarks; nothing in it calls a real provider.
"""

from ai.simulator.scenario import Fault, ReplyRule, Scenario
from ai.simulator.server import Simulator
from ai.simulator.state import RequestRecord, SimulatorState

__all__ = ["Fault", "ReplyRule", "RequestRecord", "Scenario", "Simulator", "SimulatorState"]
