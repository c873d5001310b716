"""The IO managers that let one run carry a whole batch of uploads (a range of `uploads` partitions).

Dagster's filesystem IO manager pickles one object per asset partition and refuses an output that stands for
several partitions (a single-run backfill). The inbox sensor now asks for one run per batch of dropped files,
so the per-file ingestion assets return `{partition key: value}` when the run covers several files; this
manager stores each value under its own partition's path, exactly where the filesystem IO manager would, so a
later one-file run (or a UI re-materialisation of one partition) reads it back as before. A one-partition
output is stored unchanged, so the objects and paths of one-file runs are what they always were.

`BatchMemoryIOManager` is the same contract for an in-process run whose instance ends with it (the CLI's
`score`, `runner.run_pipeline` without an instance): nobody can read the pickles of a throw-away instance's
temporary folder afterwards, so pickling every partition's records to disk and reading them back (a tenth of
Dagster's own share of a 151-file run, and a DEBUG event per partition) bought nothing there.
"""

from __future__ import annotations

from typing import Any

import dagster as dg
from dagster._core.storage.fs_io_manager import PickledObjectFilesystemIOManager


def _per_partition(context: dg.OutputContext, obj: Any) -> dict[str, Any] | None:
    """A batch output as {partition key: value}; None when the output is one partition's (or unpartitioned)."""
    if not (context.has_asset_partitions and len(context.asset_partition_keys) > 1):
        return None
    if not isinstance(obj, dict):
        raise TypeError(f"{context.asset_key.to_user_string()}: a run over several partitions must return "
                        f"a dict keyed by partition, got {type(obj).__name__}")
    return obj


class BatchPickleIOManager(PickledObjectFilesystemIOManager):
    """`PickledObjectFilesystemIOManager` that also persists an output covering several partitions."""

    def handle_output(self, context: dg.OutputContext, obj: Any) -> None:
        batch = _per_partition(context, obj)
        if batch is None:
            super().handle_output(context, obj)
            return
        for key, path in self._get_paths_for_partitions(context).items():
            self.make_directory(path.parent)
            self.dump_to_path(context=context, obj=batch[key], path=path)


class BatchMemoryIOManager(dg.IOManager):
    """`BatchPickleIOManager`'s contract with the values kept in memory: stored per asset and partition, a
    partition range loaded as {partition key: value} without the partitions whose value is None (a rejected
    file), one partition or an unpartitioned asset as the bare value. One instance serves every run of an
    invocation (a later run reads an earlier run's partitions, as from the pickles)."""

    def __init__(self) -> None:
        self._values: dict[tuple[tuple[str, ...], str | None], Any] = {}

    def handle_output(self, context: dg.OutputContext, obj: Any) -> None:
        asset = tuple(context.asset_key.path)
        batch = _per_partition(context, obj)
        if batch is not None:
            for key in context.asset_partition_keys:
                self._values[(asset, key)] = batch[key]
        else:
            self._values[(asset, context.asset_partition_key if context.has_asset_partitions else None)] = obj

    def load_input(self, context: dg.InputContext) -> Any:
        asset = tuple(context.asset_key.path)
        if not context.has_asset_partitions:
            return self._values[(asset, None)]
        keys = context.asset_partition_keys
        if len(keys) <= 1:
            return self._values[(asset, keys[0])] if keys else None
        return {key: value for key in keys if (value := self._values[(asset, key)]) is not None}


@dg.io_manager(description="Pickles asset values under the instance's storage folder, one file per partition, "
               "also when one run covers several partitions (a batch of dropped files).")
def batch_io_manager(init_context: dg.InitResourceContext) -> BatchPickleIOManager:
    return BatchPickleIOManager(base_dir=init_context.instance.storage_directory())
