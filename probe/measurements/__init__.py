"""One module per measurement: a frozen `Config`, a result from `balise.model.results`
and `async def run(config, backend) -> Result`, which reports network failures as
data and raises only when the config makes the measurement impossible.
"""
