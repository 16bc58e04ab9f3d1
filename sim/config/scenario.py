"""The complete scenario: every channel, demand, costs and the experiment settings."""

from __future__ import annotations

import yaml
from pydantic import (
    BaseModel,
    Field,
)

from sim.config.calendar import CalendarConfig, Horizon
from sim.config.chat import Chat
from sim.config.common import _STRICT
from sim.config.demand import Demand
from sim.config.email import Email
from sim.config.phone import Phone


class Costs(BaseModel):
    """What staffed time costs, for comparing options (euro per staffed hour).

    Nothing is published on 1712's costs. Assumption: about EUR 50 per staffed hour,
    the employer cost of a bachelor-level counsellor in the Flemish social-profit sector
    (about EUR 6,500 a month over about 130 productive hours). ``subsidy_budget`` is the
    money available over the horizon for extra capacity (optional).
    """

    model_config = _STRICT
    phone_line_hour: float = Field(default=50.0, ge=0)
    chat_line_hour: float = Field(default=50.0, ge=0)
    email_handler_hour: float = Field(default=50.0, ge=0)
    # Dedicated callback lines (phone.answering_machine.callbacks.dedicated): the same
    # counsellors as the phone lines, so the same assumed cost.
    callback_line_hour: float = Field(default=50.0, ge=0)
    subsidy_budget: float | None = Field(default=None, ge=0)


class Experiment(BaseModel):
    """Replications and seed; the CLI's ``--reps`` and ``--seed`` override these."""

    model_config = _STRICT
    seed: int = Field(default=1, ge=0)
    replications: int = Field(default=20, ge=1)


class Scenario(BaseModel):
    """A complete, validated scenario. Build one with :func:`load_scenario`."""

    model_config = _STRICT
    name: str = "default"
    description: str = ""
    horizon: Horizon = Horizon()
    calendar: CalendarConfig = CalendarConfig()
    phone: Phone = Phone()
    chat: Chat = Chat()
    email: Email = Email()
    demand: Demand = Demand()
    costs: Costs = Costs()
    experiment: Experiment = Experiment()

    def to_yaml(self) -> str:
        """The fully resolved scenario (all defaults written out) as YAML."""
        data = self.model_dump(mode="json", by_alias=True)
        return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


