"""The IO manager that lets one run carry a whole batch of uploads (a range of `uploads` partitions).

Dagster's filesystem IO manager pickles one object per asset partition and refuses an output that stands for
several partitions (a single-run backfill). The inbox sensor now asks for one run per batch of dropped files,
so the per-file ingestion assets return `{partition key: value}` when the run covers several files; this
manager stores each value under its own partition's path, exactly where the filesystem IO manager would, so a
later one-file run (or a UI re-materialisation of one partition) reads it back as before. A one-partition
output is stored unchanged, so the objects and paths of one-file runs are what they always were.
"""

from __future__ import annotations

from typing import Any

import dagster as dg
from dagster._core.storage.fs_io_manager import PickledObjectFilesystemIOManager


class BatchPickleIOManager(PickledObjectFilesystemIOManager):
    """`PickledObjectFilesystemIOManager` that also persists an output covering several partitions."""

    def handle_output(self, context: dg.OutputContext, obj: Any) -> None:
        if context.has_asset_partitions and len(context.asset_partition_keys) > 1:
            if not isinstance(obj, dict):
                raise TypeError(f"{context.asset_key.to_user_string()}: a run over several partitions must return "
                                f"a dict keyed by partition, got {type(obj).__name__}")
            for key, path in self._get_paths_for_partitions(context).items():
                self.make_directory(path.parent)
                self.dump_to_path(context=context, obj=obj[key], path=path)
            return
        super().handle_output(context, obj)


@dg.io_manager(description="Pickles asset values under the instance's storage folder, one file per partition, "
               "also when one run covers several partitions (a batch of dropped files).")
def batch_io_manager(init_context: dg.InitResourceContext) -> BatchPickleIOManager:
    return BatchPickleIOManager(base_dir=init_context.instance.storage_directory())
