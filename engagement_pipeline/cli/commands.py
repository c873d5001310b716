"""The pipeline's commands (demo, init, migrate, score, check-mapping, confirm-export, customer, serve): the
terminal face of the same assets the Dagster UI runs. `cli/__init__.py` puts them on the `main` group."""

from __future__ import annotations

import atexit
import gc
import json
import os
import shutil
import sys
from datetime import date
from pathlib import Path

import click

from engagement_pipeline.config import Settings, missing_crm
from engagement_pipeline.frozen_imports import imports_frozen

# canonical.EVENT_TYPES, spelled out so `--help` does not import pandas (a test keeps the two equal).
EVENT_TYPES = ("webinar", "user_group", "training", "conference", "other")


def _parse_date(_ctx: click.Context, _param: click.Parameter, value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as err:
        raise click.BadParameter(f"{value!r} is not a date like 2026-11-24") from err


@click.command()
@click.option("--anchor", callback=_parse_date, help="Date the demo is relative to (default: today).")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path))
@click.option("--seed", default=7, show_default=True, help="Random seed; same seed and anchor, same files.")
def demo(anchor: date | None, out_dir: Path, seed: int) -> None:
    """Write the demo CRM, events catalogue and a year of exports into OUT."""
    from engagement_pipeline.demo import generate_demo

    truth = generate_demo(out_dir, anchor=anchor, seed=seed)
    counts = truth.counts
    click.echo(
        f"Demo data as of {truth.anchor}: {counts['records']} attendance records, {counts['people']} people, "
        f"{counts['customers']} customers, {counts['events']} events -> {out_dir}"
    )


def _migrate_warehouse(db_url: str) -> str:
    """Upgrades the warehouse in place; returns `Warehouse at <url, password hidden>: <from> → <to>`."""
    from engagement_pipeline.warehouse import make_engine
    from engagement_pipeline.warehouse.schema import WarehouseSchemaError, upgrade_warehouse

    engine = make_engine(db_url)
    if engine.dialect.name == "sqlite" and engine.url.database not in (None, "", ":memory:"):
        Path(engine.url.database).parent.mkdir(parents=True, exist_ok=True)
    try:
        result = upgrade_warehouse(engine)
    except WarehouseSchemaError as err:
        raise click.ClickException(str(err)) from err
    finally:
        engine.dispose()
    return f"Warehouse at {engine.url.render_as_string(hide_password=True)}: {result.describe()}"


@click.command()
def migrate() -> None:
    """Upgrade the warehouse (ENGAGEMENT_DB_URL) to the newest schema in place; safe to run at any time."""
    click.echo(_migrate_warehouse(Settings.from_env().db_url))


@click.command()
@click.option("--no-demo", is_flag=True,
              help="Production server: create the folders, the warehouse and the Dagster home, but no demo data.")
def init(no_demo: bool) -> None:
    """Prepare the data folder: demo data on first start, the warehouse schema, the Dagster home."""
    settings = Settings.from_env()

    for folder in (settings.inbox_dir, settings.archive_dir, settings.rejected_dir, settings.reports_dir,
                   settings.outbox_dir, settings.events_dir, settings.crm_dir, settings.mappings_dir):
        folder.mkdir(parents=True, exist_ok=True)
    if no_demo:
        problem = missing_crm(settings)
        if problem:
            click.echo(f"No demo data written. Next: put customers.csv and contacts.csv into {settings.crm_dir}.")
    elif not (settings.crm_dir / "customers.csv").exists():
        from engagement_pipeline.demo import generate_demo

        truth = generate_demo(settings.data_dir)
        click.echo(f"First start: demo data as of {truth.anchor} written to {settings.data_dir}")
    from engagement_pipeline.warehouse.databases import ensure_database

    for variable, url in (("ENGAGEMENT_DB_URL", settings.db_url),
                          ("DAGSTER_PG_URL", os.environ.get("DAGSTER_PG_URL"))):
        if url and ensure_database(url):
            click.echo(f"Created the PostgreSQL database named in {variable}.")
    click.echo(_migrate_warehouse(settings.db_url))
    from engagement_pipeline.web.auth import TOKEN_ENV, ensure_token_file

    if not os.environ.get(TOKEN_ENV):
        token_file, created = ensure_token_file(settings)
        click.echo(f"{'Created the' if created else 'The'} dashboard/API token (mode 0600): {token_file}")
    home = os.environ.get("DAGSTER_HOME")
    instance = "embedded SQLite"
    if home:
        instance = install_instance_config(Path(home), use_postgres=bool(os.environ.get("DAGSTER_PG_URL")))
    click.echo(f"Data folder {settings.data_dir} ready; warehouse {settings.db_url.split('://')[0]}; "
               f"Dagster instance: {instance}.")


def install_instance_config(home: Path, *, use_postgres: bool) -> str:
    """Puts the repo's instance settings into DAGSTER_HOME: the embedded `dagster.yaml`, or
    `deploy/dagster-postgres.yaml` when DAGSTER_PG_URL is set. Switching either way rewrites it."""
    repo = Path(__file__).resolve().parents[2]
    source = repo / "deploy" / "dagster-postgres.yaml" if use_postgres else repo / "dagster.yaml"
    home.mkdir(parents=True, exist_ok=True)
    target = home / "dagster.yaml"
    if source.exists() and (not target.exists() or target.read_bytes() != source.read_bytes()):
        shutil.copyfile(source, target)
    return "PostgreSQL (DAGSTER_PG_URL)" if use_postgres else "embedded SQLite"


# Objects allocated between young collections (Python's default: 700), and how many young (middle) collections
# make a middle (full) one (default: 10 each).
GC_THRESHOLDS = (50_000, 20, 20)


def _freeze_imports() -> None:
    """A one-shot command's imported modules (Dagster, pandas, the definitions) live until it exits: moved out
    of the garbage collector's way, its collections during the run do not walk them again and again, and at
    exit (`atexit`, before the interpreter's final collection) neither does the last one. Measured on `score`
    with 1k records: the exit's collection alone took ~0.9 of 7.8 CPU s.

    And fewer collections during the run: a run allocates mostly long-lived containers (frames' blocks, records,
    Dagster's events), so Python's default pace (a young collection every 700 allocations) collected ~3,200
    times and walked the survivors again in 22 full collections: 2.9 of 57 CPU s at 100k records; at
    `GC_THRESHOLDS`, 1.2 s. Garbage in cycles waits a little longer: at most tens of thousands of objects."""
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
    atexit.register(gc.freeze)


@click.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--as-of", callback=_parse_date, help="Score as of this date (default: today).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document instead of the report.")
@click.option("--owner", help="Print only this CSM owner's view of the report (their customers).")
@click.option("--event-name", help="The event FILES are for, when the files do not say (recorded in overrides.csv).")
@click.option("--event-type", type=click.Choice(EVENT_TYPES), help="The event's type (recorded in overrides.csv).")
@click.option("--event-date", callback=_parse_date, help="The event's date, e.g. 2026-03-14 (recorded too).")
def score(files: tuple[Path, ...], as_of: date | None, as_json: bool, owner: str | None, event_name: str | None,
          event_type: str | None, event_date: date | None) -> None:
    """Ingest FILES through the pipeline's assets and print the engagement report.

    Exit code 2: some file was rejected; 3: some file waits for event details (see --event-*)."""
    with imports_frozen():  # Dagster and the definitions: nothing to collect, see frozen_imports.py
        from engagement_pipeline.defs.runner import run_pipeline
        from engagement_pipeline.report.json_output import pipeline_json
    _freeze_imports()
    settings = Settings.from_env()
    problem = missing_crm(settings)
    if problem:  # before anything is archived or a warehouse created
        raise click.ClickException(problem)
    if event_name or event_type or event_date:
        from engagement_pipeline.ingest.overrides import EventOverride, record_override

        for path in files:
            line = record_override(settings.events_dir / "overrides.csv",
                                   EventOverride(path.name, event_name, event_type, event_date))
            click.echo(f"Recorded in {settings.events_dir / 'overrides.csv'}: {line}", err=True)
    try:
        run = run_pipeline(list(files), settings=settings, as_of=as_of)
    except Exception as err:  # no traceback, statement or key value (an attendee's email) reaches the terminal
        raise click.ClickException(_run_failure(err)) from None
    if as_json:
        click.echo(json.dumps(pipeline_json(run, settings), indent=2, default=str, ensure_ascii=False))
    elif owner:
        click.echo(_owner_report(run, settings, owner))
    else:
        click.echo(run.report_markdown)
    _echo_exports_not_used(settings)
    held = [u for u in run.uploads if u.get("status") == "held"]
    rejected = [u for u in run.uploads if u["platform"] is None and u.get("status") != "held"]
    for upload in held:
        click.echo(f"Waiting for event details: {Path(upload['file']).name}\n{upload['reason']}\n", err=True)
    for upload in rejected:
        click.echo(f"Rejected {Path(upload['file']).name}:\n{upload['reason']}\n", err=True)
    if rejected:
        click.echo(f"The rejected files are kept in {settings.rejected_dir} with the reason beside them.", err=True)
        sys.exit(2)
    if held:
        sys.exit(3)


@click.command("check-mapping")
@click.argument("mapping", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("file", required=False, type=click.Path(exists=True, dir_okay=False, path_type=Path))
def check_mapping(mapping: Path, file: Path | None) -> None:
    """Validate a column MAPPING (.yaml); with FILE, read FILE through it and print its counts (nothing stored)."""
    from engagement_pipeline.ingest.mappings import LoadedMapping, MappingError, parse_mapping
    from engagement_pipeline.ingest.overrides import load_overrides
    from engagement_pipeline.ingest.parse import parse_export
    from engagement_pipeline.ingest.result import RejectedFile

    try:
        checked = parse_mapping(mapping.read_text(encoding="utf-8-sig"), mapping.name)
    except MappingError as err:
        raise click.ClickException(str(err)) from err
    click.echo(f"{mapping.name}: valid; fields {', '.join(f'{k} <- {v!r}' for k, v in checked.columns.items())}"
               + (f"; event {checked.event}" if checked.event else ""))
    if file is None:
        return
    overrides = load_overrides(Settings.from_env().events_dir / "overrides.csv")
    try:
        parsed = parse_export(file, overrides=overrides,
                              mappings=[LoadedMapping(str(mapping), checked.signature, checked)])
    except RejectedFile as err:
        raise click.ClickException(err.explanation()) from err
    if parsed.platform != "mapped":
        raise click.ClickException(f"{file.name} has another header layout (read as {parsed.platform}); "
                                   "this mapping is not used for it")
    ledger = parsed.ledger
    click.echo(f"{file.name}: {ledger['rows_read']} rows read, {ledger['rows_kept']} kept, "
               f"{ledger['rows_excluded']} excluded, {ledger['rows_quarantined']} quarantined")
    for event, rows in parsed.records.groupby("event_name"):
        click.echo(f"  {event} ({rows['event_date'].iloc[0].date()}, {rows['event_type'].iloc[0]}): "
                   f"{int(rows['attended'].sum())} attended, {int((~rows['attended']).sum())} registered only")


def _owner_report(run: object, settings: Settings, owner: str) -> str:
    """The per-owner report the run wrote beside the main one (`reports/by_owner/`)."""
    from engagement_pipeline.defs.report.assets import owner_slug

    main_path = Path(run.outputs["report_paths"]["markdown_path"])
    path = main_path.parent / "by_owner" / f"{main_path.stem}_{owner_slug(owner)}.md"
    if not path.exists():
        owners = sorted(p.stem.removeprefix(main_path.stem + "_") for p in (main_path.parent / "by_owner").glob(
            f"{main_path.stem}_*.md"))
        raise click.ClickException(f"No customer has {owner!r} as CSM owner. Owners: {', '.join(owners) or 'none'}")
    return path.read_text(encoding="utf-8")


def _echo_exports_not_used(settings: Settings) -> None:
    """Re-exports that did not replace the export in use (held for confirmation, or damaged), on stderr."""
    from engagement_pipeline.warehouse import exports_not_used, make_engine

    engine = make_engine(settings.db_url)
    try:
        with engine.connect() as conn:
            for item in exports_not_used(conn):
                click.echo(f"Upload {item['upload_id']} ({item['file_name']}) {item['status']}: {item['reason']}",
                           err=True)
    finally:
        engine.dispose()


def _run_failure(err: BaseException) -> str:
    """One sentence for a failed run, without personal data: database errors by their class only."""
    from engagement_pipeline.warehouse import describe_db_error

    db_error = describe_db_error(err)
    if db_error:
        return (f"Scoring stopped: the warehouse refused a write ({db_error}). Each write is one transaction, "
                "so nothing was half-written; run the command again.")
    root, visited = err, {id(err)}
    while root.__cause__ is not None and id(root.__cause__) not in visited:  # a chain can loop back on itself
        root = root.__cause__
        visited.add(id(root))
    return f"Scoring stopped because of an unexpected {type(root).__name__}; nothing was half-written."


@click.command("confirm-export")
@click.argument("upload_id", type=int)
def confirm_export(upload_id: int) -> None:
    """Use a held re-export (one with far fewer records than the export it would replace) from the next score."""
    from engagement_pipeline.warehouse import confirm_export as confirm
    from engagement_pipeline.warehouse import make_engine

    engine = make_engine(Settings.from_env().db_url)
    try:
        with engine.begin() as conn:
            row = confirm(conn, upload_id)
    finally:
        engine.dispose()
    if row is None:
        raise click.ClickException(f"No accepted upload has id {upload_id}.")
    click.echo(f"Upload {upload_id} ({row['file_name']}) confirmed: the next scoring run uses it for its event.")


@click.command()
@click.argument("name")
def customer(name: str) -> None:
    """One customer's latest score breakdown and attendance history (from the warehouse)."""
    from engagement_pipeline.cli.customer_view import CustomerNotFound, render_customer

    try:
        click.echo(render_customer(name, Settings.from_env()))
    except CustomerNotFound as err:
        raise click.ClickException(str(err)) from err


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", default=8080, show_default=True, help="Port to listen on (0: any free port).")
def serve(host: str, port: int) -> None:
    """Serve the CSM's dashboard (/) and HTTP API (/api, schema at /openapi.json) on the warehouse."""
    import uvicorn

    from engagement_pipeline.web import create_app
    from engagement_pipeline.web.auth import load_token

    settings = Settings.from_env()
    _token, where = load_token(settings)
    app = create_app(settings, _token)
    click.echo(f"Dashboard and API on http://{host}:{port}/ (OpenAPI schema /openapi.json); token from {where}")
    # X-Forwarded-Proto is trusted from FORWARDED_ALLOW_IPS only (uvicorn: 127.0.0.1 unless set), so behind a
    # TLS proxy the session cookie is marked Secure.
    uvicorn.run(app, host=host, port=port, log_level="info", proxy_headers=True, server_header=False)


PIPELINE_COMMANDS: tuple[click.Command, ...] = (demo, migrate, init, score, check_mapping, confirm_export, customer,
                                                serve)
