"""Ingestion: the dropped file, its validated records, the inbox and held-uploads sensors, the ingestion job."""
