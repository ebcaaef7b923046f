"""Overhead benchmark of the telemetry package: see bench/overhead.py."""
