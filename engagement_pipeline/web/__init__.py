"""The CSM's window: an HTTP API under /api and a server-rendered dashboard under /, in one ASGI app.

It reads the same warehouse the Dagster assets write, drops uploads into the same inbox the sensor watches,
and sends invitations through the same path as the send job. `engagement-pipeline serve` runs it on uvicorn.
"""

from engagement_pipeline.web.app import create_app

__all__ = ["create_app"]
