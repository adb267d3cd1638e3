"""Helpers of bench/run: processes, load generation, seeding and reports."""
