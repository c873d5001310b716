"""Explicit actions a person launches (advocacy opportunities, invitations): assets, jobs and resources.

Registered in `defs/__init__.py` through the lists below; the sensor and the schedule never launch them.
The two jobs are op jobs, not asset jobs, so "Materialize all" in the UI can never send an email: they
record what they did in the warehouse and report it as materializations of the `advocacy_opportunities`
and `invitations` assets, whose own definitions only read the warehouse.
"""

from ..resources import at_setup
from .assets import TRACKING_ASSETS, VIEW_ASSETS
from .jobs import create_advocacy_opportunities_job, invitation_outbox_job, send_event_invitations_job
from .resources import Mailer, mailer_from_env

ASSETS: list = [*VIEW_ASSETS, *TRACKING_ASSETS]
JOBS: list = [create_advocacy_opportunities_job, send_event_invitations_job, invitation_outbox_job]


def environment_resources() -> dict:
    """The code location's mailer: ENGAGEMENT_SMTP_* read when it is set up (a launched job), never at import."""
    return {"mailer": at_setup(mailer_from_env, "Where invitations go, from the environment when set up")}


__all__ = ["ASSETS", "JOBS", "Mailer", "environment_resources"]
