"""The two jobs a person launches: create advocacy opportunities, send event invitations.

Op jobs on purpose (see `actions.py`); each records its outcome in the warehouse and logs a materialization
of the matching asset so the UI's asset page shows every launch.

Safe by default in the Launchpad: the invitation job's `event` is a drop-down of the catalogue's events
(`events/upcoming_events.csv`, read when the definitions load: `build_invitation_job`), `dry_run` is true
unless a person sets it false, and a dry run records who would get what (the recipient table, emails
masked, and the rendered message) as the run's metadata. `action_jobs` binds the jobs' resources (warehouse,
data folder, mailer) without any config schema (`hidden_resources`): they come from the environment when a run
sets them up, and the Launchpad shows no SMTP or warehouse setting to edit.
"""

import enum
from datetime import date
from pathlib import Path

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
from engagement_pipeline.insights import load_upcoming_events
from engagement_pipeline.report.escape import mask_emails_in
from engagement_pipeline.report.markdown import markdown_table

from ..metadata import masked
from ..resources import DataFolder, Warehouse
from .resources import Mailer

NO_EVENT = "(no event in events/upcoming_events.csv)"
FENCE = "`" * 3


class AdvocacyConfig(dg.Config):
    """`customers` (ids or names) wins over `top_n` when given."""

    top_n: int = 3
    customers: list[str] = Field(default_factory=list)


class InvitationConfig(dg.Config):
    """`event` from the catalogue; `customers` or the `top_n` best recommendations (0 = all of them).

    The job `build_invitation_job` builds replaces `event` by a drop-down of the catalogue's events."""

    event: str = Field(description="The upcoming event to invite to.")
    customers: list[str] = Field(default_factory=list, description="Only these customer ids or names.")
    top_n: int = Field(default=0, description="Only the N best recommendations (0: all).")
    dry_run: bool = Field(default=True, description="True: show who would get what and send nothing.")
    max_per_contact: int = Field(default=2, description="Frequency cap: invitations per contact...")
    cap_days: int = Field(default=30, description="...within this many days.")
    holdout_share: float | None = Field(
        default=None, description="Share of the eligible contacts held out (not invited) to measure uplift; "
                                  "empty: 0.2 for a new event, the recorded share for one already invited.")


def catalogue_events(events_csv: Path, today: date | None = None) -> list[str]:
    """The catalogue's event names, upcoming ones first (by date), then past ones; each once."""
    try:
        catalogue = load_upcoming_events(events_csv)
    except Exception:
        return []
    catalogue = catalogue.sort_values("event_date", kind="stable")
    today_ts = pd.Timestamp(today or date.today())
    upcoming = catalogue.loc[catalogue["event_date"] >= today_ts, "event_name"].astype(str)
    past = catalogue.loc[catalogue["event_date"] < today_ts, "event_name"].astype(str)
    return list(dict.fromkeys([*upcoming, *past]))


def event_enum(names: list[str]) -> type[enum.Enum]:
    """An Enum whose members are the event names themselves (what the Launchpad lists and the YAML holds)."""
    valid = [n for n in names if n and not n.startswith("_") and n != "mro"]
    return enum.Enum("UpcomingEvent", {n: n for n in (valid or [NO_EVENT])})


def _state(warehouse: Warehouse, data_folder: DataFolder) -> ScoredState:
    try:
        return load_scored_state(warehouse.engine(), data_folder)
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
                  "preview": _md(masked(result))}))
    return result


def _html_text(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def dry_run_metadata(run: InvitationRun) -> dict[str, dg.MetadataValue]:
    """Who would get what: the recipients (emails masked) and the first rendered message, as Markdown."""
    columns = [c for c in ("customer_name", "contact_name", "contact_email", "status", "reason")
               if c in run.results]
    metadata = {"recipients": _md(masked(run.results[columns])),
                "would_send": dg.MetadataValue.int(int((run.results["status"] == "dry_run").sum()))}
    if run.previews:
        p = run.previews[0]
        text = p["text"].replace(p["unsubscribe_url"], "<unsubscribe link>") if p.get("unsubscribe_url") \
            else p["text"]
        body = mask_emails_in(text).replace(FENCE, "'''")
        metadata["email_preview"] = dg.MetadataValue.md(
            f"**To:** {_html_text(mask_emails_in(p['to']))}  \n**Subject:** {_html_text(p['subject'])}\n\n"
            f"{FENCE}text\n{body}\n{FENCE}")
    return metadata


def _send(context: dg.OpExecutionContext, config: InvitationConfig, warehouse: Warehouse,
          data_folder: DataFolder, mailer: Mailer) -> InvitationRun:
    state = _state(warehouse, data_folder)
    event_name = config.event.value if isinstance(config.event, enum.Enum) else str(config.event)
    try:
        event = find_event(state.upcoming, event_name)
    except ValueError as err:
        raise dg.Failure(description=str(err)) from err
    chosen = select_recommendations(state.invitation_recommendations(), str(event["event_name"]),
                                    config.customers, config.top_n or None)
    outbox = data_folder.outbox_dir
    try:
        run = send_invitations(warehouse.engine(), chosen, event, state.attendance, mailer.client(outbox),
                               mailer.policy(config.max_per_contact, config.cap_days,
                                             installation_secret(data_folder.data_dir),
                                             config.holdout_share),
                               dry_run=config.dry_run, catalogue=state.upcoming)
    except ValueError as err:
        raise dg.Failure(description=str(err)) from err
    context.log.info(f"{'Dry run' if config.dry_run else 'Sent'} via {mailer.describe(outbox)}: {run.counts()}"
                     + (f" ({run.note})" if run.note else ""))
    if config.dry_run:
        context.add_output_metadata({"event": str(event["event_name"]), **dry_run_metadata(run)})
    else:
        context.log_event(dg.AssetMaterialization(
            asset_key="invitations",
            metadata={"event": str(event["event_name"]), "event_id": run.event_id, **run.counts(),
                      "preview": _md(masked(run.results.drop(columns=["event_id", "message_id"],
                                                            errors="ignore")))}))
    return run


def build_invitation_job(events: list[str], resource_defs: dict | None = None) -> dg.JobDefinition:
    """The invitation job with `event` a drop-down of `events` (the first, the next event, is the default)."""
    event_type = event_enum(events)
    default = next(iter(event_type))

    class SendInvitationsConfig(InvitationConfig):
        """Pick the event; leave dry_run true to see who would get what, set it false to send."""

        event: event_type = Field(default=default, description="The upcoming event to invite to.")  # type: ignore[valid-type]

    @dg.op(name="send_event_invitations", tags={"kind": "actions"})
    def send_event_invitations(context: dg.OpExecutionContext, config: SendInvitationsConfig,
                               warehouse: Warehouse, data_folder: DataFolder, mailer: Mailer) -> InvitationRun:
        """One personalised email per recommended contact, through suppression, the cap and de-duplication."""
        return _send(context, config, warehouse, data_folder, mailer)

    @dg.job(name="send_event_invitations_job", resource_defs=resource_defs or {},
            description="Send invitations for one upcoming event to its recommended contacts. dry_run (the "
                        "default) shows who would get what and sends nothing. Launched by a person only.",
            tags={"launched_by": "person"})
    def send_event_invitations_job() -> None:
        send_event_invitations()

    return send_event_invitations_job


def hidden_resources(resources: dict) -> dict[str, dg.ResourceDefinition]:
    """Each resource bound without a config schema: a job built with these shows nothing about infrastructure to
    edit in the Launchpad. The code location's resources have none already (made from the environment when set
    up: `resources.at_setup`); a resource object the CLI or a test made is bound as the value it is."""

    def bind(resource: object) -> dg.ResourceDefinition:
        if isinstance(resource, dg.ResourceDefinition) and not isinstance(resource, dg.ConfigurableResource):
            return resource
        return dg.ResourceDefinition.hardcoded_resource(resource, f"{type(resource).__name__} (not editable at "
                                                                  "launch)")

    return {key: bind(value) for key, value in resources.items()}


def action_jobs(resources: dict, events_csv: Path | None) -> list[dg.JobDefinition]:
    """The action jobs (advocacy, invitations, outbox review), resources hidden; events from `events_csv`."""
    bound = hidden_resources(resources)

    @dg.job(name="create_advocacy_opportunities_job", resource_defs=bound,
            description="Create advocacy opportunities for the top N candidates (or named customers). "
                        "Launched by a person only.", tags={"launched_by": "person"})
    def advocacy_job() -> None:
        create_advocacy_opportunities()

    return [advocacy_job, build_invitation_job(catalogue_events(events_csv) if events_csv else [], bound),
            build_outbox_job(bound)]


@dg.job(description="Create advocacy opportunities for the top N candidates (or named customers). "
                    "Launched by a person only.", tags={"launched_by": "person"})
def create_advocacy_opportunities_job() -> None:
    create_advocacy_opportunities()


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
            counts = outbox.deliver_due(engine, mailer.client(data_folder.outbox_dir),
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
                  "review": _md(masked(review.drop(columns=["message_id"])))}))
    return review


def build_outbox_job(resource_defs: dict | None = None) -> dg.JobDefinition:
    """The outbox review job (list / confirm / release / send), bound to `resource_defs`."""

    @dg.job(name="invitation_outbox_job", resource_defs=resource_defs or {},
            description="List invitations whose outcome is unknown or failed; confirm or release them by id "
                        "(never re-sent automatically). Launched by a person only.", tags={"launched_by": "person"})
    def invitation_outbox_job() -> None:
        review_invitation_outbox()

    return invitation_outbox_job


invitation_outbox_job = build_outbox_job()


send_event_invitations_job = build_invitation_job([])
