"""Engagement: merged attendance, scores, trends, insights, their quality checks and the weekly re-score."""
