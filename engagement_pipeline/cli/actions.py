"""CLI commands for the explicit actions (advocacy opportunities, invitations); `cli/__init__.py` registers them.

`advocacy` and `invite` run the same Dagster jobs the UI launches, in-process, on the warehouse of
`Settings.from_env()`; `advocacy-status` and `suppress` call the domain functions directly.
"""

from __future__ import annotations

import contextlib
import io
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from engagement_pipeline.config import Settings

if TYPE_CHECKING:
    import sqlalchemy as sa


def _run_job(job_name: str, op_name: str, config: dict[str, Any], settings: Settings) -> Any:
    """Executes an action job in-process; a failure becomes a ClickException with Dagster's reason."""
    import dagster as dg

    from engagement_pipeline.actions.state import NOT_SCORED
    from engagement_pipeline.defs import build_definitions
    from engagement_pipeline.defs.actions.resources import mailer_from_env

    if not settings.data_dir.is_dir():
        raise click.ClickException(f"{settings.data_dir} does not exist. {NOT_SCORED}")
    defs = build_definitions(settings=settings, resources={"mailer": mailer_from_env()})
    job = defs.resolve_job_def(job_name)
    run_config = {"ops": {op_name: {"config": config}},
                  "loggers": {"console": {"config": {"log_level": "WARNING"}}}}
    with dg.DagsterInstance.ephemeral() as instance, contextlib.redirect_stderr(io.StringIO()):
        result = job.execute_in_process(run_config=run_config, instance=instance, raise_on_error=False)
        if result.success:
            return result.output_for_node(op_name)
        for event in result.all_events:
            if event.is_step_failure and event.step_failure_data:
                data = event.step_failure_data
                error = data.error.cause or data.error if data.error else None
                reason = (data.user_failure_data.description if data.user_failure_data else None) or \
                    (error.message if error else f"{job_name} failed")
                raise click.ClickException(reason.strip())
    raise click.ClickException(f"{job_name} failed")


def _event_name(name: str, settings: Settings) -> str:
    """The catalogue's full name for `name` (a unique prefix is enough); unchanged when it is not found, so the
    job reports the error."""
    from engagement_pipeline.actions.invitations import find_event
    from engagement_pipeline.insights import load_upcoming_events

    try:
        return str(find_event(load_upcoming_events(settings.events_dir / "upcoming_events.csv"), name)["event_name"])
    except (ValueError, OSError):
        return name


def _table(rows: list[list[str]], headers: list[str]) -> str:
    widths = [max(len(str(x)) for x in [h, *[r[i] for r in rows]]) for i, h in enumerate(headers)]
    line = lambda cells: "  ".join(str(c).ljust(w) for c, w in zip(cells, widths, strict=True))  # noqa: E731
    return "\n".join([line(headers), line(["-" * w for w in widths]), *(line(r) for r in rows)])


@click.command()
@click.option("--top", "top_n", default=3, show_default=True, help="The N best advocacy candidates.")
@click.option("--customer", "customers", multiple=True, help="A customer id or name (repeatable); wins over --top.")
def advocacy(top_n: int, customers: tuple[str, ...]) -> None:
    """Create advocacy opportunities (one per customer; launching twice creates nothing new)."""
    result = _run_job("create_advocacy_opportunities_job", "create_advocacy_opportunities",
                      {"top_n": top_n, "customers": list(customers)}, Settings.from_env())
    rows = [[r.customer_name, r.opportunity_type, r.champion, "created" if r.created else "already exists",
             r.next_task] for r in result.itertuples()]
    click.echo(_table(rows, ["customer", "type", "champion", "status", "next task"]))
    click.echo(f"\n{int(result['created'].sum())} created, {len(result) - int(result['created'].sum())} "
               "already there.")


@click.command()
@click.option("--event", required=True, help="An upcoming event's name (a unique prefix is enough).")
@click.option("--top", "top_n", default=0, help="Only the N best recommendations (default: all).")
@click.option("--customer", "customers", multiple=True, help="Only this customer id or name (repeatable).")
@click.option("--dry-run", is_flag=True, help="Render and show, send and record nothing.")
@click.option("--max-per-contact", default=2, show_default=True, help="Frequency cap: invitations per contact...")
@click.option("--cap-days", default=30, show_default=True, help="...in this many days.")
@click.option("--holdout", "holdout_share", type=click.FloatRange(0, 1, max_open=True), default=None,
              help="Share of eligible contacts held out to measure uplift (default 0.2 for a new event; an event "
                   "already invited keeps its recorded share).")
def invite(event: str, top_n: int, customers: tuple[str, ...], dry_run: bool, max_per_contact: int,
           cap_days: int, holdout_share: float | None) -> None:
    """Send personalised invitations for EVENT to its recommended contacts (a random holdout is not invited)."""
    event = _event_name(event, Settings.from_env())  # the job's `event` is the catalogue's exact name
    run = _run_job("send_event_invitations_job", "send_event_invitations",
                   {"event": event, "top_n": top_n, "customers": list(customers), "dry_run": dry_run,
                    "max_per_contact": max_per_contact, "cap_days": cap_days, "holdout_share": holdout_share},
                   Settings.from_env())
    rows = [[r.customer_name, f"{r.contact_name} <{r.contact_email}>", r.status,
             r.reason if isinstance(r.reason, str) else ""] for r in run.results.itertuples()]
    click.echo(_table(rows, ["customer", "contact", "status", "reason"]))
    counts = ", ".join(f"{v} {k}" for k, v in run.counts().items())
    click.echo(f"\n{counts or 'nobody to invite'}{' (dry run: nothing sent or recorded)' if dry_run else ''}")
    if run.note:
        click.echo(run.note)
    if (run.results["status"] == "unknown").any():
        click.echo("Some outcomes are unknown (the server may have the message): they are never re-sent "
                   "automatically; see `engagement-pipeline outbox list`.")
    if run.previews:
        p = run.previews[0]
        click.echo(f"\nPreview -- To: {p['to']}\nSubject: {p['subject']}\n\n{p['text']}")


@click.command("advocacy-status")
@click.argument("key", required=False)
@click.argument("status", required=False, type=click.Choice(["open", "won", "lost"], case_sensitive=False))
@click.option("--file", "path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A CSV with opportunity_id or customer_id, and status.")
def advocacy_status(key: str | None, status: str | None, path: Path | None) -> None:
    """Set an advocacy opportunity's status: KEY (opportunity id, customer id or name) STATUS, or --file."""
    from engagement_pipeline.actions.advocacy import import_status_file, update_status
    from engagement_pipeline.defs.resources import Warehouse

    engine = Warehouse(url=Settings.from_env().db_url).engine()
    try:
        if path:
            changed = import_status_file(engine, path)
        elif key and status:
            changed = [(update_status(engine, key, status), status.lower())]
        else:
            raise click.UsageError("give KEY STATUS or --file")
    except ValueError as err:
        raise click.ClickException(str(err)) from err
    for opportunity_id, new in changed:
        click.echo(f"opportunity {opportunity_id}: {new}")


@click.command()
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def suppress(path: Path) -> None:
    """Import a suppression list (CSV with email[,reason], or one address a line): never invited again."""
    from engagement_pipeline.actions.suppressions import add_suppressions, read_suppression_file
    from engagement_pipeline.defs.resources import Warehouse

    try:
        entries = read_suppression_file(path)
    except ValueError as err:
        raise click.ClickException(str(err)) from err
    with Warehouse(url=Settings.from_env().db_url).engine().begin() as conn:
        added = add_suppressions(conn, entries, source=path.name)
    click.echo(f"{len(entries)} addresses read, {added} new on the suppression list.")


@click.group("outbox")
def outbox_group() -> None:
    """Invitations whose outcome is unknown or failed: list them, confirm (it arrived) or release (send again)."""


def _engine() -> sa.Engine:
    from engagement_pipeline.defs.resources import Warehouse

    return Warehouse(url=Settings.from_env().db_url).engine()


@outbox_group.command("list")
@click.option("--all", "everything", is_flag=True, help="Also the sent, held-out and skipped invitations.")
def outbox_list(everything: bool) -> None:
    """Messages that need a person (unknown first), with their id."""
    from engagement_pipeline.actions import outbox

    statuses = (*outbox.REVIEW, outbox.SENT, outbox.HELD_OUT, outbox.SKIPPED) if everything else outbox.REVIEW
    review = outbox.review_list(_engine(), statuses)
    if review.empty:
        click.echo("Nothing to review: no unknown, failed or waiting invitation.")
        return
    rows = [[str(r.invitation_id), r.status, str(r.event_name), r.contact_email, str(r.attempts),
             str(r.reason or "")[:80]] for r in review.itertuples()]
    click.echo(_table(rows, ["id", "status", "event", "contact", "attempts", "reason"]))


def _decide(action: str, ids: tuple[int, ...]) -> None:
    from engagement_pipeline.actions import outbox

    engine = _engine()
    for invitation_id in ids:
        try:
            (outbox.confirm if action == "confirm" else outbox.release)(engine, invitation_id)
        except outbox.OutboxError as err:
            raise click.ClickException(str(err)) from err
        click.echo(f"invitation {invitation_id}: {'sent (confirmed)' if action == 'confirm' else 'queued again'}")


@outbox_group.command("confirm")
@click.argument("ids", nargs=-1, type=int, required=True)
def outbox_confirm(ids: tuple[int, ...]) -> None:
    """The unknown message(s) IDS did arrive: count them as sent."""
    _decide("confirm", ids)


@outbox_group.command("release")
@click.argument("ids", nargs=-1, type=int, required=True)
def outbox_release(ids: tuple[int, ...]) -> None:
    """The unknown or failed message(s) IDS did not arrive: queue them again (sent by `outbox send`)."""
    _decide("release", ids)


@outbox_group.command("send")
def outbox_send() -> None:
    """Deliver what is due: released messages and pending retries, for every event."""
    from engagement_pipeline.actions import outbox
    from engagement_pipeline.defs.actions.resources import mailer_from_env

    mailer = mailer_from_env()
    settings = Settings.from_env()
    counts = outbox.deliver_due(_engine(), mailer.client(settings.outbox_dir),
                                retry=outbox.RetryPolicy(mailer.retries + 1, mailer.backoff_seconds))
    click.echo(", ".join(f"{v} {k}" for k, v in counts.items()) or "nothing due")


@click.command("unsubscribe-server")
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", default=8025, show_default=True, help="Port to listen on.")
@click.option("--max-body", default=4096, show_default=True, help="Largest request body accepted (bytes; 413).")
@click.option("--rate", default=2.0, show_default=True, help="Requests a second per client address (429 above).")
@click.option("--burst", default=20, show_default=True, help="Requests a client may make at once.")
@click.option("--trusted-proxy", default=None, help="Address of your reverse proxy: the client address is then "
                                                    "read from its X-Forwarded-For.")
@click.option("--threads", default=4, show_default=True, help="Worker threads.")
def unsubscribe_server(host: str, port: int, max_body: int, rate: float, burst: int, trusted_proxy: str | None,
                       threads: int) -> None:
    """Serve the one-click unsubscribe endpoint (RFC 8058) that invitation links point at.

    Put it behind your HTTPS proxy at ENGAGEMENT_UNSUBSCRIBE_URL; a valid POST suppresses the address. Served by
    waitress with a request-size limit and a per-client rate limit."""
    from engagement_pipeline.actions import unsubscribe
    from engagement_pipeline.defs.resources import Warehouse

    settings = Settings.from_env()
    app = unsubscribe.unsubscribe_app(Warehouse(url=settings.db_url).engine(),
                                      unsubscribe.installation_secret(settings.data_dir))
    server = unsubscribe.unsubscribe_server(app, host, port, max_body=max_body, rate=rate, burst=burst,
                                            trusted_proxy=trusted_proxy, threads=threads)
    click.echo(f"Unsubscribe endpoint on http://{host}:{server.effective_port}/unsubscribe (Ctrl-C to stop)")
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()


ACTION_COMMANDS: tuple[click.Command, ...] = (advocacy, invite, advocacy_status, suppress, outbox_group,
                                              unsubscribe_server)
