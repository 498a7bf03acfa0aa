"""milepost scenarios."""

from scenarios.city import City, GroundTruth, build_city, day_problem

__all__ = ["City", "GroundTruth", "build_city", "day_problem"]
