"""Grafana's variable interpolation, as `balise dashboards check` does it."""

import pytest

from dashboards.expand import ExpandError, TimeRange, Value, expand, interval_ms

RANGE = TimeRange(start_ms=1_750_000_000_000, end_ms=1_750_000_300_000)


def test_time_filter_and_range_bounds():
    query = 'SELECT x FROM "m" WHERE $timeFilter AND time >= ${__to}ms - 15m'
    assert expand(query, {}, RANGE) == (
        'SELECT x FROM "m" WHERE time >= 1750000000000ms and time <= 1750000300000ms '
        "AND time >= 1750000300000ms - 15m"
    )


def test_from_as_unix_seconds():
    assert expand('"end" >= ${__from:date:seconds}', {}, RANGE) == '"end" >= 1750000000'


def test_interval_is_inserted_when_given():
    assert expand("GROUP BY time($__interval)", {}, RANGE, 60_000) == "GROUP BY time(60000ms)"
    with pytest.raises(ExpandError, match="__interval"):
        expand("GROUP BY time($__interval)", {}, RANGE)


def test_a_single_value_is_regex_escaped_where_asked():
    values = {"region": Value("St. Petersburg (north)/x")}
    assert expand("/^${region:regex}$/", values, RANGE) == r"/^St\. Petersburg \(north\)\/x$/"
    assert expand("'${region:raw}' $region [[region]]", {"region": Value("a.b")}, RANGE) == (
        "'a.b' a.b a.b"
    )


def test_all_is_inserted_as_it_is():
    assert expand("/^${country:regex}$/", {"country": Value(".*", is_all=True)}, RANGE) == (
        "/^.*$/"
    )


def test_an_unknown_variable_or_format_is_named():
    with pytest.raises(ExpandError, match=r"\$nowhere"):
        expand("x = $nowhere", {}, RANGE)
    with pytest.raises(ExpandError, match="csv"):
        expand("${country:csv}", {"country": Value("IR")}, RANGE)


@pytest.mark.parametrize(
    ("range_s", "minimum", "expected_ms"),
    [
        (300, None, 200),  # 300 ms raw
        (300, "1m", 60_000),  # the panel's minimum wins
        (86_400, "1m", 60_000),  # 86.4 s raw -> 1 m
        (7 * 86_400, "1m", 600_000),  # 604.8 s raw -> 10 m
    ],
)
def test_interval_is_rounded_like_grafana_and_at_least_the_minimum(range_s, minimum, expected_ms):
    window = TimeRange(start_ms=0, end_ms=range_s * 1000)
    assert interval_ms(window, minimum) == expected_ms


def test_a_malformed_minimum_interval_is_named():
    with pytest.raises(ExpandError, match="1 minute"):
        interval_ms(RANGE, "1 minute")
