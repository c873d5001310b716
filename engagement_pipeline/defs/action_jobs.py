"""The two jobs a person launches: create advocacy opportunities, send event invitations.

Op jobs on purpose (see `actions.py`); each records its outcome in the warehouse and logs a materialization
of the matching asset so the UI's asset page shows every launch.
"""


import dagster as dg
import pandas as pd
from pydantic import Field

from engagement_pipeline.actions import outbox
from engagement_pipeline.actions.advocacy import choose_candidates, create_opportunities
from engagement_pipeline.actions.invitations import (
    InvitationRun,
    find_event,
    select_recommendations,
    send_invitations,
)
from engagement_pipeline.actions.state import NotScoredError, ScoredState, load_scored_state
from engagement_pipeline.actions.unsubscribe import installation_secret
from engagement_pipeline.report.markdown import markdown_table

from .action_resources import Mailer
from .resources import DataFolder, Warehouse


class AdvocacyConfig(dg.Config):
    """`customers` (ids or names) wins over `top_n` when given."""

    top_n: int = 3
    customers: list[str] = Field(default_factory=list)


class InvitationConfig(dg.Config):
    """`event` from the catalogue; `customers` or the `top_n` best recommendations (0 = all of them)."""

    event: str
    customers: list[str] = Field(default_factory=list)
    top_n: int = 0
    dry_run: bool = False
    max_per_contact: int = 2
    cap_days: int = 30
    holdout_share: float | None = Field(
        default=None, description="Share of the eligible contacts held out (not invited) to measure uplift; "
                                  "empty: 0.2 for a new event, the recorded share for one already invited.")


def _state(warehouse: Warehouse, data_folder: DataFolder) -> ScoredState:
    try:
        return load_scored_state(warehouse.engine(), data_folder.settings)
    except NotScoredError as err:
        raise dg.Failure(description=str(err)) from err


def _md(frame: pd.DataFrame) -> dg.MetadataValue:
    return dg.MetadataValue.md(markdown_table(frame) if len(frame) else "_nothing_")


@dg.op(tags={"kind": "actions"})
def create_advocacy_opportunities(context: dg.OpExecutionContext, config: AdvocacyConfig,
                                  warehouse: Warehouse, data_folder: DataFolder) -> pd.DataFrame:
    """One open opportunity per chosen advocacy candidate; customers that have one already are left alone."""
    state = _state(warehouse, data_folder)
    try:
        chosen = choose_candidates(state.advocacy_candidates(), config.top_n, config.customers)
    except ValueError as err:
        raise dg.Failure(description=str(err)) from err
    result = create_opportunities(warehouse.engine(), chosen, state.crm.customers, state.as_of)
    created = int(result["created"].sum()) if len(result) else 0
    context.log_event(dg.AssetMaterialization(
        asset_key="advocacy_opportunities",
        metadata={"created": created, "already_open": len(result) - created, "as_of": state.as_of.isoformat(),
                  "preview": _md(result)}))
    return result


@dg.op(tags={"kind": "actions"})
def send_event_invitations(context: dg.OpExecutionContext, config: InvitationConfig, warehouse: Warehouse,
                           data_folder: DataFolder, mailer: Mailer) -> InvitationRun:
    """One personalised email per recommended contact, through suppression, the cap and de-duplication."""
    state = _state(warehouse, data_folder)
    try:
        event = find_event(state.upcoming, config.event)
    except ValueError as err:
        raise dg.Failure(description=str(err)) from err
    chosen = select_recommendations(state.invitation_recommendations(), str(event["event_name"]),
                                    config.customers, config.top_n or None)
    outbox = data_folder.settings.outbox_dir
    try:
        run = send_invitations(warehouse.engine(), chosen, event, state.attendance, mailer.client(outbox),
                               mailer.policy(config.max_per_contact, config.cap_days,
                                             installation_secret(data_folder.settings.data_dir),
                                             config.holdout_share),
                               dry_run=config.dry_run, catalogue=state.upcoming)
    except ValueError as err:
        raise dg.Failure(description=str(err)) from err
    context.log.info(f"{'Dry run' if config.dry_run else 'Sent'} via {mailer.describe(outbox)}: {run.counts()}"
                     + (f" ({run.note})" if run.note else ""))
    if not config.dry_run:
        context.log_event(dg.AssetMaterialization(
            asset_key="invitations",
            metadata={"event": str(event["event_name"]), "event_id": run.event_id, **run.counts(),
                      "preview": _md(run.results.drop(columns=["event_id", "message_id"]))}))
    return run


@dg.job(description="Create advocacy opportunities for the top N candidates (or named customers). "
                    "Launched by a person only.", tags={"launched_by": "person"})
def create_advocacy_opportunities_job() -> None:
    create_advocacy_opportunities()


@dg.job(description="Send invitations for one upcoming event to its recommended contacts (dry_run to "
                    "preview). Launched by a person only.", tags={"launched_by": "person"})
def send_event_invitations_job() -> None:
    send_event_invitations()


class OutboxReviewConfig(dg.Config):
    """`list` the messages that need a person; `confirm` (it arrived) or `release` (send again) the unknown ones
    by id; `send` delivers what is due (released messages, pending retries) for every event."""

    action: str = Field(default="list", description="list | confirm | release | send")
    invitation_ids: list[int] = Field(default_factory=list)


@dg.op(tags={"kind": "actions"})
def review_invitation_outbox(context: dg.OpExecutionContext, config: OutboxReviewConfig, warehouse: Warehouse,
                             data_folder: DataFolder, mailer: Mailer) -> pd.DataFrame:
    """Unknown outcomes are never re-sent by the product: a person settles them here (or with `outbox` CLI)."""
    engine = warehouse.engine()
    try:
        if config.action in ("confirm", "release"):
            for invitation_id in config.invitation_ids:
                (outbox.confirm if config.action == "confirm" else outbox.release)(engine, invitation_id)
        elif config.action == "send":
            counts = outbox.deliver_due(engine, mailer.client(data_folder.settings.outbox_dir),
                                        retry=outbox.RetryPolicy(mailer.retries + 1, mailer.backoff_seconds))
            context.log.info(f"outbox delivered: {counts}")
        elif config.action != "list":
            raise ValueError(f"unknown action {config.action!r}: use list, confirm, release or send")
    except ValueError as err:
        raise dg.Failure(description=str(err)) from err
    review = outbox.review_list(engine)
    counts = {str(k): int(v) for k, v in review["status"].value_counts().items()}
    context.log_event(dg.AssetMaterialization(
        asset_key="invitations",
        metadata={"needs_review": int((review["status"] == outbox.UNKNOWN).sum()), **counts,
                  "review": _md(review.drop(columns=["message_id"]))}))
    return review


@dg.job(description="List invitations whose outcome is unknown or failed; confirm or release them by id "
                    "(never re-sent automatically). Launched by a person only.", tags={"launched_by": "person"})
def invitation_outbox_job() -> None:
    review_invitation_outbox()
