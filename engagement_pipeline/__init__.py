"""Event-attendance exports turned into per-customer engagement, risk, advocacy and invitations."""

__version__ = "0.1.0"
