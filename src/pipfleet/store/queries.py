"""Small read queries the jobs need about a finished run."""

from __future__ import annotations

from collections import Counter

from sqlalchemy import Engine, func
from sqlmodel import Session, col, select

from pipfleet.store.models import FindingRecord


def unfixable_by_kind(engine: Engine, run_id: int) -> Counter[str]:
    """Findings of ``run_id`` that need a human (not informational, no fix applies), by kind."""
    with Session(engine) as session:
        rows = session.exec(
            select(FindingRecord.kind, func.count())
            .where(
                col(FindingRecord.run_id) == run_id,
                col(FindingRecord.fixable).is_(False),
                col(FindingRecord.severity) != "info",
            )
            .group_by(col(FindingRecord.kind))
        ).all()
    return Counter({str(kind): int(count) for kind, count in rows})


def unfixable_findings(engine: Engine, run_id: int) -> int:
    """How many findings of ``run_id`` need a human."""
    return sum(unfixable_by_kind(engine, run_id).values())
