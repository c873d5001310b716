"""One dynamic partition per dropped file, keyed by its file name; and `partitions_read_once`."""

import contextlib
from collections.abc import Iterator, Sequence

import dagster as dg

upload_partitions_def = dg.DynamicPartitionsDefinition(name="uploads")


@contextlib.contextmanager
def partitions_read_once(instance: dg.DagsterInstance) -> Iterator[None]:
    """Within the block, `instance` answers which dynamic partitions exist from one read per definition.

    Why: `context.add_asset_metadata(metadata, partition_key=key)` checks that the key is in the run's range,
    and Dagster reads that range from the instance: both ends (`has_dynamic_partition`) and every key of the
    definition (`get_dynamic_partitions`), each time. A batch run over N files records each file's metadata on
    its own partition, so every ingestion asset read N keys N times (3N queries, quadratic in the batch). The
    block only records metadata (nothing adds or deletes partitions in it), so its first read is the answer
    for the rest; this instance object only, restored on leaving (Dagster's own methods again)."""
    read: dict[str, tuple[Sequence[str], frozenset[str]]] = {}
    stored_keys = instance.get_dynamic_partitions

    def snapshot(partitions_def_name: str) -> tuple[Sequence[str], frozenset[str]]:
        if partitions_def_name not in read:
            keys = list(stored_keys(partitions_def_name))
            read[partitions_def_name] = (keys, frozenset(keys))
        return read[partitions_def_name]

    def get_dynamic_partitions(partitions_def_name: str) -> Sequence[str]:
        return list(snapshot(partitions_def_name)[0])

    def has_dynamic_partition(partitions_def_name: str, partition_key: str) -> bool:
        return partition_key in snapshot(partitions_def_name)[1]

    shadowed = {name: vars(instance)[name] for name in ("get_dynamic_partitions", "has_dynamic_partition")
                if name in vars(instance)}
    instance.get_dynamic_partitions = get_dynamic_partitions  # type: ignore[method-assign]
    instance.has_dynamic_partition = has_dynamic_partition  # type: ignore[method-assign]
    try:
        yield
    finally:
        for name in ("get_dynamic_partitions", "has_dynamic_partition"):
            if name in shadowed:
                setattr(instance, name, shadowed[name])
            else:
                delattr(instance, name)
