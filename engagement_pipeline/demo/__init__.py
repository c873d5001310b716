"""Deterministic demo data: a CRM, an upcoming-events catalogue and a year of real-format exports.

`generate_demo(out_dir, anchor, seed)` writes the folder and returns the `DemoTruth` the pipeline's output
is checked against. No Dagster here: the CLI, `make run` and the tests all call it directly.
"""

from engagement_pipeline.demo.generate import DemoTruth, generate_demo

__all__ = ["DemoTruth", "generate_demo"]
