"""Balise: real-time detection of Internet shutdowns and platform blocking."""

__version__ = "0.1.0"
