"""The engagement report and its freshness check."""
