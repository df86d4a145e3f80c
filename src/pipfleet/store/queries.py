"""Small read queries the jobs need about a finished run."""

from __future__ import annotations

from sqlalchemy import Engine, func
from sqlmodel import Session, col, select

from pipfleet.store.models import FindingRecord


def unfixable_findings(engine: Engine, run_id: int) -> int:
    """Findings of ``run_id`` that need a human: not informational, and no fix applies."""
    with Session(engine) as session:
        count = session.exec(
            select(func.count()).where(
                col(FindingRecord.run_id) == run_id,
                col(FindingRecord.fixable).is_(False),
                col(FindingRecord.severity) != "info",
            )
        ).one()
    return int(count)
