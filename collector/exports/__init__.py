"""Exports of what the collector stored: events, timelines and measurements, in the shapes
analysts' tools take (CSV, JSON, Access Now STOP columns, OONI JSONL) and as pictures.

docs/exports.md is the reference for every format.
"""
