"""Tests for engagement_pipeline: they read as the product's specification."""
