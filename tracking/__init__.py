"""milepost tracking."""
