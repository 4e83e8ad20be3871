"""The logic-free model layer: results, messages, events and the failure vocabulary.

Probe and collector depend on this package; it depends on neither.
"""
