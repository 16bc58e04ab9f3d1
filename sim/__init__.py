"""Hulplijn 1712 call-centre queue and overflow simulator.

Shape: scenario YAML -> ``config.load_scenario`` -> ``model.Helpline`` (records events)
-> ``eventlog`` tables -> ``metrics`` -> ``report`` and ``plots``.
"""

__version__ = "0.1.0"
