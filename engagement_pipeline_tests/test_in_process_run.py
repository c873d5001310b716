"""The in-process run's own machinery (`defs/ephemeral.py`, `defs/io.py`): the throw-away instance of
`run_pipeline` stores what Dagster's ephemeral instance stores, and values handed over in memory are what the
pickles handed over, for a batch run over several partitions (one of them None, a rejected file), a one-partition
run that reads an earlier run's partition, and a downstream asset that reads the whole range."""

import dataclasses
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import dagster as dg
import pandas as pd
import pytest
import sqlalchemy as sa

from engagement_pipeline.config import Settings
from engagement_pipeline.defs.ephemeral import READ_BACK, HeldConnectionEventLogStorage, ephemeral_instance
from engagement_pipeline.defs.io import BatchMemoryIOManager, batch_io_manager
from engagement_pipeline.defs.runner import run_pipeline

from .conftest import DEMO_ANCHOR

FILES = dg.DynamicPartitionsDefinition(name="files")
BATCH = dg.BackfillPolicy.single_run()


def _per_key(context: dg.AssetExecutionContext, make: Callable[[str], Any]) -> Any:
    keys = list(context.partition_keys)
    return {key: make(key) for key in keys} if len(keys) > 1 else make(keys[0])


@dg.asset(partitions_def=FILES, backfill_policy=BATCH)
def upload(context: dg.AssetExecutionContext) -> Any:
    if len(context.partition_keys) > 1:
        for key in context.partition_keys:
            context.add_asset_metadata({"file": key}, partition_key=key)
    return _per_key(context, lambda key: None if key == "rejected" else {"file": key, "rows": pd.DataFrame({"n": [1]})})


@dg.asset(partitions_def=FILES, backfill_policy=BATCH)
def parsed(context: dg.AssetExecutionContext, upload: Any) -> Any:
    return _per_key(context, lambda key: repr(upload))  # what this partition's run was handed


@dg.asset
def summary(parsed: Any) -> str:
    return repr(parsed)


def _runs(instance: dg.DagsterInstance, io_manager: Any) -> list[dict[str, Any]]:
    """A batch run over three partitions, then a one-partition run of `parsed` that loads `upload` stored by
    the first; every node's output."""
    instance.add_dynamic_partitions(FILES.name, ["a", "rejected", "c"])
    resources = {"io_manager": io_manager}
    batch = dg.materialize([upload, parsed, summary], instance=instance, resources=resources,
                           tags={"dagster/asset_partition_range_start": "a",
                                 "dagster/asset_partition_range_end": "c"})
    one = dg.materialize([upload, parsed], selection=[parsed], partition_key="c", instance=instance,
                         resources=resources)
    return [{name: repr(batch.output_for_node(name)) for name in ("upload", "parsed", "summary")},
            {"parsed": one.output_for_node("parsed")}]


def _stored(instance: dg.DagsterInstance) -> list[tuple[Any, ...]]:
    """Every event the instance stored, as (type, asset, partition, metadata without the pickle's path)."""
    stored = []
    for record in instance.get_run_records():
        for entry in instance.all_logs(record.dagster_run.run_id):
            event = entry.dagster_event
            if event is None:
                stored.append(("log", entry.level))
                continue
            materialization = event.step_materialization_data.materialization if event.is_step_materialization \
                else None
            stored.append((event.event_type_value, event.asset_key, event.partition,
                           {k: v for k, v in materialization.metadata.items() if k != "path"}
                           if materialization else None))
    return stored


def test_values_in_memory_are_what_the_pickles_handed_over() -> None:
    with dg.DagsterInstance.ephemeral() as pickled, dg.DagsterInstance.ephemeral() as kept:
        assert _runs(kept, BatchMemoryIOManager()) == _runs(pickled, batch_io_manager)


def test_the_throw_away_instance_stores_what_dagsters_ephemeral_instance_stores(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """... of the events a run reads back (asset events and checks, materialisations without their metadata);
    the others not at all. A step's partitioned materialisations come as one batch."""
    batches: list[list[str]] = []  # the event types of each batch
    store_batch = HeldConnectionEventLogStorage.store_event_batch
    monkeypatch.setattr(HeldConnectionEventLogStorage, "store_event_batch", lambda self, events: (
        batches.append([e.dagster_event_type.value for e in events]), store_batch(self, events))[1])
    with dg.DagsterInstance.ephemeral() as dagsters, ephemeral_instance() as ours:
        assert _runs(ours, BatchMemoryIOManager()) == _runs(dagsters, BatchMemoryIOManager())
        # The batch run's planned materialisations (not stored), then upload's and parsed's three partitions.
        assert batches == [["ASSET_MATERIALIZATION_PLANNED"] * 7, *[["ASSET_MATERIALIZATION"] * 3] * 2]
        read_back = {event_type.value for event_type in READ_BACK}
        assert _stored(ours) == [(*event[:3], {} if event[3] is not None else None)
                                 for event in _stored(dagsters) if event[0] in read_back]
        assert any(event[3] for event in _stored(dagsters))  # metadata that ours leaves out
        assert len(_stored(ours)) >= 7 and len(_stored(dagsters)) > 30
        assert ours.get_dynamic_partitions(FILES.name) == ["a", "rejected", "c"]
        for key in ("upload", "parsed", "summary"):  # each asset's latest (its row updated per partition)
            latest = [instance.get_latest_materialization_event(dg.AssetKey(key)) for instance in (ours, dagsters)]
            assert latest[0] is not None and latest[1] is not None
            assert latest[0].dagster_event.partition == latest[1].dagster_event.partition
        for key, partition in (("upload", "a"), ("parsed", "c"), ("parsed", "rejected")):  # each one's tags
            for instance in (ours, dagsters):  # (the versions themselves hash each instance's run ids)
                record = instance.get_latest_data_version_record(dg.AssetKey(key), partition_key=partition)
                assert record.partition_key == partition
                assert record.asset_materialization.tags["dagster/data_version"]
        for instance in (ours, dagsters):  # its partitions follow every change, as Dagster's
            instance.add_dynamic_partitions(FILES.name, ["d"])
            instance.delete_dynamic_partition(FILES.name, "a")
        assert ours.get_dynamic_partitions(FILES.name) == dagsters.get_dynamic_partitions(FILES.name) \
            == ["rejected", "c", "d"]
        assert [ours.has_dynamic_partition(FILES.name, key) for key in ("a", "d")] == [False, True]


def _tables(storage: HeldConnectionEventLogStorage) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the tables a batch writes (the asset rows without the clock time they were created)."""
    with storage._connect() as conn:
        return {name: [tuple(row) for row in conn.execute(sa.text(f"SELECT {columns} FROM {name} ORDER BY 1, 2"))]
                for name, columns in (("event_logs", "*"), ("asset_event_tags", "*"),
                                      ("asset_keys", "asset_key, last_materialization, last_run_id, asset_details, "
                                                     "wipe_timestamp, last_materialization_timestamp, tags"))}


def test_a_batch_is_stored_as_its_events_one_at_a_time() -> None:
    """`store_event_batch` inserts a batch's rows in one statement (`_insert_event_rows`): the same rows, ids, tags
    and asset rows as inserting each with Dagster's own `prepare_insert_event`, for materialisations of several
    assets and partitions out of their order, a batch of one, and a batch after single events (ids go on)."""
    with dg.DagsterInstance.ephemeral() as dagsters:
        _runs(dagsters, BatchMemoryIOManager())
        events = [entry for record in dagsters.get_run_records() for entry in dagsters.all_logs(
            record.dagster_run.run_id) if entry.dagster_event_type is dg.DagsterEventType.ASSET_MATERIALIZATION]
    assert len({e.dagster_event.asset_key for e in events}) == 3
    assert len({e.dagster_event.partition for e in events}) > 2
    batched, one_at_a_time = HeldConnectionEventLogStorage(), HeldConnectionEventLogStorage()
    one_at_a_time._insert_event_rows = lambda conn, batch: [  # type: ignore[method-assign]
        conn.execute(one_at_a_time.prepare_insert_event(e)).inserted_primary_key[0] for e in batch]
    for storage in (batched, one_at_a_time):
        storage.store_event_batch(events[::-1])
        storage.store_event_batch(events[:1])
        storage.store_event(events[2])
        storage.store_event_batch(events[1::2] + events[::2])
    assert _tables(batched) == _tables(one_at_a_time)
    assert len(_tables(batched)["event_logs"]) == 2 * len(events) + 2 and _tables(batched)["asset_event_tags"]


def _data_folder(root: Path, demo_dir: Path) -> Settings:
    for part in ("crm", "events"):
        shutil.copytree(demo_dir / part, root / "data" / part)
    return Settings.from_env({"ENGAGEMENT_DATA_DIR": str(root / "data")})


@pytest.mark.slow  # two pipeline runs
def test_run_pipeline_gives_the_same_results_on_its_own_instance_as_on_a_pickling_one(
        tmp_path: Path, demo_dir: Path) -> None:
    """The CLI's run (throw-away instance, values in memory) and a run on a given instance (pickled, as the
    UI's) over the same files, one of them rejected: same uploads, outputs and report."""
    files = sorted((demo_dir / "inbox").iterdir())[:3]
    broken = tmp_path / "broken.csv"
    broken.write_text("not,an,export\n1,2,3\n")
    runs = []
    for name in ("own", "given"):
        settings = _data_folder(tmp_path / name, demo_dir)
        with dg.DagsterInstance.ephemeral() as instance:
            runs.append(run_pipeline([*files, broken], settings=settings, as_of=DEMO_ANCHOR,
                                     instance=None if name == "own" else instance))
    own, given = runs
    assert own.report_markdown == given.report_markdown
    assert own.uploads == given.uploads and any(u["reason"] for u in own.uploads)
    assert own.outputs.keys() == given.outputs.keys()
    for name in own.outputs.keys() - {"report_paths"}:  # the paths are each data folder's
        _assert_same(own.outputs[name], given.outputs[name])


def _assert_same(ours: Any, theirs: Any) -> None:
    """Equal values: frames column by column (but for the clock time a row was written), containers and
    dataclasses member by member."""
    if isinstance(ours, pd.DataFrame):
        stamps = [c for c in ours.columns if str(c).endswith("_at")]
        pd.testing.assert_frame_equal(ours.drop(columns=stamps), theirs.drop(columns=stamps))
    elif isinstance(ours, pd.Series):
        pd.testing.assert_series_equal(ours, theirs)
    elif isinstance(ours, dict):
        assert ours.keys() == theirs.keys()
        for key in ours:
            _assert_same(ours[key], theirs[key])
    elif isinstance(ours, (list, tuple)):
        assert len(ours) == len(theirs)
        for mine, other in zip(ours, theirs, strict=True):
            _assert_same(mine, other)
    elif dataclasses.is_dataclass(ours):
        for member in dataclasses.fields(ours):
            _assert_same(getattr(ours, member.name), getattr(theirs, member.name))
    else:
        assert ours == theirs
