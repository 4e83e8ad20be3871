"""OONI data beside Balise's: measurements written in OONI's data format, and OONI
measurements read and classified into Balise's per-layer outcome (docs/exports.md)."""
