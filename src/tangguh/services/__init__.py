"""Basic services monitoring (issue 6): water, sanitation and waste coverage per unit,
scheduled refresh with history, citizen reports. See docs/architecture.md."""
