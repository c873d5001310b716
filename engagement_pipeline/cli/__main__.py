"""`python -m engagement_pipeline.cli`: the same as the `engagement-pipeline` console script."""

from engagement_pipeline.cli import main

main()
