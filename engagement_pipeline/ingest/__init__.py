"""Platform exports (Zoom, Hopin, Eventbrite; CSV or XLSX) into canonical attendance records."""
