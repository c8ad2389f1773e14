"""Reports: CSV, markdown and HTML (charts embedded) written from results."""
