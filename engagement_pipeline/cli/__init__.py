"""`engagement-pipeline`: the command line; the console script's entry point is `main`.

The commands live in two modules, `commands.py` (the pipeline: demo, init, score, ...) and `actions.py` (the
explicit actions: advocacy, invite, outbox, ...); the group is built here, above both, so neither imports the
other (the old cli.py <-> cli_actions.py circle).
"""

from __future__ import annotations

from engagement_pipeline.frozen_imports import imports_frozen

with imports_frozen():  # the commands' imports (click, pydantic, pandas, SQLAlchemy): see frozen_imports.py
    import click

    from engagement_pipeline.cli.actions import ACTION_COMMANDS
    from engagement_pipeline.cli.commands import PIPELINE_COMMANDS, install_instance_config


@click.group()
def main() -> None:
    """Event attendance exports -> customer engagement scores, trends, risks and invitations."""


for _command in (*PIPELINE_COMMANDS, *ACTION_COMMANDS):
    main.add_command(_command)

__all__ = ["install_instance_config", "main"]
