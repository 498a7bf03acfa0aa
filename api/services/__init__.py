"""The service's workflows, between the HTTP routes and the database.

Each module is one area (fleet, orders, plans, slots, ingest, tracking,
metrics, forecasts, scenarios, keys) of plain functions or small classes
that take their session and collaborators as arguments. They raise the
errors of :mod:`api.services.errors`, never HTTP exceptions.
"""
