"""One dynamic partition per dropped file, keyed by its file name."""

import dagster as dg

upload_partitions_def = dg.DynamicPartitionsDefinition(name="uploads")
