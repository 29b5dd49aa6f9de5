"""Measurements that make the phenomena visible: coverage, distances, fields and diagnoses."""
