"""Every exception the handler raises between its modules; the entry point turns them into one FAILED response."""

from __future__ import annotations


class InvalidProperties(ValueError):
    """One or more properties break the contract (rules.py); the message lists every problem."""


class OutOfTime(Exception):
    """No further call may start: it could not finish before the response must go (budget.py)."""


class OperationFailed(Exception):
    """A call did not complete. `outcome_unknown` means a change may still have been made."""

    def __init__(self, reason: str, outcome_unknown: bool = False) -> None:
        super().__init__(reason)
        self.outcome_unknown = outcome_unknown


class Contended(Exception):
    """Another writer got in the way (operation in progress, or the policy moved on): read again and retry."""


class StatementExists(Exception):
    """AddLayerVersionPermission found the StatementId taken."""


class EventFailed(Exception):
    """The event failed: answer FAILED with this Reason and PhysicalResourceId."""

    def __init__(self, reason: str, physical_id: str) -> None:
        super().__init__(reason)
        self.physical_id = physical_id
