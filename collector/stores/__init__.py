"""Where rounds, statuses and events are kept: InfluxDB 1.x, InfluxDB 2.x/3.x or SQLite."""
