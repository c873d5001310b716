"""`engagement-pipeline`: the command line (the console script's entry point is `main`)."""

from engagement_pipeline.cli.commands import install_instance_config, main

__all__ = ["install_instance_config", "main"]
