"""The one thing pure domains share: how a decider refuses a command."""

from __future__ import annotations


class InvalidTransitionError(Exception):
    """A command the case's current state does not allow; ``rule`` names the rule that refused."""

    def __init__(self, rule: str, detail: str) -> None:
        super().__init__(f"{rule}: {detail}")
        self.rule = rule
        self.detail = detail


class NotPermittedError(InvalidTransitionError):
    """The acting agency or role may not issue the command (403); ``rule`` names the rule."""


class UnknownCaseError(InvalidTransitionError):
    """The service has never heard of the case (404), and the command does not open one."""
