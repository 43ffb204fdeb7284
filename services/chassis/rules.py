"""The one thing pure domains share: how a decider refuses a command."""

from __future__ import annotations


class InvalidTransitionError(Exception):
    """A command the case's current state does not allow; ``rule`` names the rule that refused."""

    def __init__(self, rule: str, detail: str) -> None:
        super().__init__(f"{rule}: {detail}")
        self.rule = rule
        self.detail = detail
