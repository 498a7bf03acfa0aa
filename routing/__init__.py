"""milepost routing."""
