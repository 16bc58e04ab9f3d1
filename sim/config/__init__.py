"""Scenario files -> one validated, frozen :class:`Scenario`.

This module is the ONLY place defaults live. A scenario file is YAML; it may name a
``base:`` scenario (a path relative to the file) whose keys it overrides, and the CLI
may apply ``--set dotted.path=value`` overrides on top. Mappings merge key by key;
lists and scalars replace. Every problem becomes one :class:`ScenarioError` naming the
file, the dotted field path, the YAML line where known, and what is wrong.

Units at this edge: dates as ``YYYY-MM-DD``, clock times as ``HH:MM``, durations in
minutes (keys end in ``_min``), demand in callers per year. The model converts to
seconds since the scenario start.
"""

from sim.config.calendar import *  # noqa: F403
from sim.config.callbacks import *  # noqa: F403
from sim.config.chat import *  # noqa: F403
from sim.config.common import *  # noqa: F403
from sim.config.demand import *  # noqa: F403
from sim.config.email import *  # noqa: F403
from sim.config.loading import *  # noqa: F403
from sim.config.phone import *  # noqa: F403
from sim.config.scenario import *  # noqa: F403
