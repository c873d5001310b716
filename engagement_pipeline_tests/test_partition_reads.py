"""A batch run records each file's metadata on its own partition without reading the partitions per file
(`defs/ingest/partitions.py: partitions_read_once`): the storage's reads do not grow with the batch, and every
partition still gets its own metadata, as `context.add_asset_metadata` gave it before."""

from typing import Any

import dagster as dg
import pytest

from engagement_pipeline.defs.ingest.assets import _each_file
from engagement_pipeline.defs.ingest.partitions import partitions_read_once
from engagement_pipeline.defs.io import BatchMemoryIOManager

FILES = dg.DynamicPartitionsDefinition(name="files")


@dg.asset(partitions_def=FILES, backfill_policy=dg.BackfillPolicy.single_run())
def per_file(context: dg.AssetExecutionContext) -> dg.Output[Any]:
    return _each_file(context, lambda key: (len(key), {"file": key, "length": len(key)}))


def _batch(instance: dg.DagsterInstance, keys: list[str], monkeypatch: pytest.MonkeyPatch) -> tuple[int, dict]:
    """(the storage's partition reads, metadata by partition) of one run over `keys`."""
    storage = instance.event_log_storage
    reads = []
    for name in ("get_dynamic_partitions", "has_dynamic_partition"):
        method = getattr(storage, name)
        monkeypatch.setattr(storage, name, lambda *a, _m=method, **k: reads.append(a) or _m(*a, **k))
    instance.add_dynamic_partitions(FILES.name, keys)
    result = dg.materialize([per_file], instance=instance, resources={"io_manager": BatchMemoryIOManager()}, tags={
        "dagster/asset_partition_range_start": keys[0], "dagster/asset_partition_range_end": keys[-1]})
    monkeypatch.undo()
    metadata = {event.partition: {k: v.value for k, v in event.metadata.items()}
                for event in result.asset_materializations_for_node("per_file")}
    assert result.output_for_node("per_file") == {key: len(key) for key in keys}
    return len(reads), metadata


def test_a_batch_reads_the_partitions_a_fixed_number_of_times(monkeypatch: pytest.MonkeyPatch) -> None:
    with dg.DagsterInstance.ephemeral() as instance:
        small = _batch(instance, ["a", "bb"], monkeypatch)
        large = _batch(instance, [f"file{i}" for i in range(12)], monkeypatch)
        assert "get_dynamic_partitions" not in vars(instance)  # Dagster's own methods again after the block
    assert small[1] == {"a": {"file": "a", "length": 1}, "bb": {"file": "bb", "length": 2}}
    assert large[1] == {f"file{i}": {"file": f"file{i}", "length": len(f"file{i}")} for i in range(12)}
    assert large[0] == small[0]


def test_the_snapshot_answers_what_the_instance_answers() -> None:
    with dg.DagsterInstance.ephemeral() as instance:
        instance.add_dynamic_partitions(FILES.name, ["a", "b"])
        with partitions_read_once(instance):
            assert instance.get_dynamic_partitions(FILES.name) == ["a", "b"]
            assert instance.has_dynamic_partition(FILES.name, "b")
            assert not instance.has_dynamic_partition(FILES.name, "c")
            assert instance.get_dynamic_partitions("other") == []
        instance.add_dynamic_partitions(FILES.name, ["c"])
        assert instance.has_dynamic_partition(FILES.name, "c")
