"""Grafana dashboards for Balise, built as code (docs/dashboards.md).

The dashboards are generated from Python into `dashboards/json/`, provisioned from
`dashboards/provisioning/` or pushed with `balise dashboards push`, and checked against a
live InfluxDB with `balise dashboards check`. Check and push read the generated JSON only,
so they need neither the generator nor its SDK.
"""
