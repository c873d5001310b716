"""The explicit actions a CSM launches on the insights, and the tracking that closes the loop.

Plain modules (no Dagster): advocacy opportunities, event invitations and the mailer that sends them,
risk signals with outreach tasks, the blended customer health score, and conversion measures.
"""
