"""The one place the web app sends invitations: the send job's own path (same gates, same idempotency).

The sending lane is turning `send_invitations` into a transactional outbox with a holdout; keeping the web
app's call in this one adapter means that change touches one function here, not the routes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd
from sqlalchemy.engine import Engine

from engagement_pipeline.actions.invitations import find_event, select_recommendations, send_invitations
from engagement_pipeline.actions.state import ScoredState
from engagement_pipeline.actions.unsubscribe import installation_secret
from engagement_pipeline.config import Settings
from engagement_pipeline.web.data import plain

MAX_PER_CONTACT = 2
CAP_DAYS = 30


def send_event_invitations(engine: Engine, settings: Settings, state: ScoredState, event: str, *,
                           customers: Sequence[str] = (), top: int | None = None,
                           dry_run: bool = True) -> dict[str, Any]:
    """Invites the event's recommended contacts (`customers`, else the `top` N); per recipient its status,
    and for a dry run the rendered subject and text. Raises ValueError for an unknown event."""
    from engagement_pipeline.defs.actions.resources import mailer_from_env

    found = find_event(state.upcoming, event)
    chosen = select_recommendations(state.invitation_recommendations(), str(found["event_name"]), customers,
                                    top or None)
    mailer = mailer_from_env()
    policy = mailer.policy(MAX_PER_CONTACT, CAP_DAYS, installation_secret(settings.data_dir))
    run = send_invitations(engine, chosen, found, state.attendance, mailer.client(settings.outbox_dir), policy,
                           dry_run=dry_run, catalogue=state.upcoming)
    rendered = {p["email"]: p for p in run.previews}  # the send path renders each recipient once
    recipients = []
    for result in run.results.to_dict(orient="records"):
        item = {k: plain(v) for k, v in result.items() if k != "event_name"}
        if result["status"] == "dry_run":
            preview = rendered[result["contact_email"]]
            item.update(subject=preview["subject"], text=preview["text"])
        recipients.append(item)
    return {"event_name": str(found["event_name"]),
            "event_date": pd.Timestamp(found["event_date"]).date().isoformat(),
            "dry_run": dry_run, "counts": run.counts(), "recipients": recipients}
