"""Explicit actions a person launches (advocacy opportunities, invitations): assets, jobs and resources.

Registered in `defs/__init__.py` (the assets through `ASSETS`, the jobs by `jobs.action_jobs`); the sensor and the
schedule never launch them.
The two jobs are op jobs, not asset jobs, so "Materialize all" in the UI can never send an email: they
record what they did in the warehouse and report it as materializations of the `advocacy_opportunities`
and `invitations` assets, whose own definitions only read the warehouse.
"""

from ..resources import at_setup
from .assets import TRACKING_ASSETS, VIEW_ASSETS

ASSETS: list = [*VIEW_ASSETS, *TRACKING_ASSETS]


def environment_resources() -> dict:
    """The code location's mailer: ENGAGEMENT_SMTP_* read when it is set up (a launched job), never at import."""
    from .resources import mailer_from_env  # the jobs' side (mailer, invitations): see `defs/__init__.py`

    return {"mailer": at_setup(mailer_from_env, "Where invitations go, from the environment when set up")}


__all__ = ["ASSETS", "environment_resources"]
