"""milepost api."""
