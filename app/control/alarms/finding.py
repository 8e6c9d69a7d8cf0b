"""What a rule hands the alarm book: a `Finding` (raise this code), and the severities."""

from __future__ import annotations

from dataclasses import dataclass

CRITICAL = "critical"
WARNING = "warning"
ADVISORY = "advisory"  # informs; never switches an output
SEVERITIES = (CRITICAL, WARNING, ADVISORY)


def check_severity(severity: str) -> None:
    """Refuse (ValueError) a severity that is not one of `SEVERITIES`."""
    if severity not in SEVERITIES:
        raise ValueError(f"severity must be one of {', '.join(SEVERITIES)}, not {severity!r}")


@dataclass(frozen=True)
class Finding:
    """A rule's condition holds: raise `code` with this severity and message."""

    code: str
    severity: str
    message: str
