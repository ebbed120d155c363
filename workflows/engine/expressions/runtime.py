"""The state of one evaluation: the node context, the current item, budgets and the scope chain."""

from __future__ import annotations

from time import perf_counter
from typing import TYPE_CHECKING, Any

from workflows.engine.expressions import limits
from workflows.engine.expressions.errors import Abort

if TYPE_CHECKING:
    from workflows.engine.context import NodeContext


class Scope:
    """One arrow-function call's variables, linked to the scope the function was created in."""

    __slots__ = ("parent", "vars")

    def __init__(self, variables: dict[str, Any], parent: Scope | None) -> None:
        self.vars = variables
        self.parent = parent


class Runtime:
    """Built per evaluation (cheap: slots, no copies). Counts steps and allocation as it goes."""

    __slots__ = (
        "allocated",
        "ctx",
        "deadline",
        "depth",
        "dirty",
        "item_index",
        "items",
        "next_check",
        "now",
        "scope",
        "steps",
    )

    def __init__(self, ctx: NodeContext, item_index: int) -> None:
        self.ctx = ctx
        self.item_index = item_index
        inputs = ctx.inputs
        self.items = inputs[0] if inputs else None
        self.steps = 0
        self.next_check = limits.CHECK_EVERY
        self.deadline = perf_counter() + limits.MAX_SECONDS
        self.scope: Any = None  # the innermost Scope while an arrow function runs
        self.depth = 0
        self.allocated = 0
        self.now: Any = None  # `$now`, fixed for the whole evaluation as in n8n
        # Set when the expression built a container (literal, method result): only then can the
        # result hold `undefined` or host objects, so only then is it walked at the boundary.
        self.dirty = False

    def check(self) -> None:
        """Enforce the step budget and the wall-clock bound (called every CHECK_EVERY steps)."""
        if self.steps > limits.MAX_STEPS:
            raise Abort(f"expression exceeded the step budget of {limits.MAX_STEPS:,} steps")
        if perf_counter() > self.deadline:
            raise Abort(f"expression exceeded the time limit of {limits.MAX_SECONDS:g} s")
        self.next_check = self.steps + limits.CHECK_EVERY

    def charge(self, steps: int) -> None:
        """Account for work done inside a builtin (roughly one step per 64 elements)."""
        self.steps += steps
        if self.steps >= self.next_check:
            self.check()

    def allocate(self, units: int) -> None:
        """Account for a big string or array about to be built; fail before it is built."""
        self.allocated += units
        if self.allocated > limits.MAX_ALLOCATED:
            raise Abort(f"expression exceeded the allocation limit of {limits.MAX_ALLOCATED:,} characters and elements")
        self.charge(units >> 6)
