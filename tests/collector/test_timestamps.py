"""The storage-time rule for untrustworthy probe clocks."""

from collector.timestamps import EPOCH_2020, FUTURE_TOLERANCE_S, clock_suspect, storage_time

NOW = 1_750_000_000.0


def test_a_plausible_time_is_kept_even_hours_late():
    for measured in (NOW, NOW - 6 * 3600, NOW + FUTURE_TOLERANCE_S - 1):
        assert not clock_suspect(measured, NOW)
        assert storage_time(measured, NOW) == measured


def test_future_and_pre_2020_times_become_the_arrival_time():
    for measured in (NOW + FUTURE_TOLERANCE_S + 1, NOW + 86400 * 365, 0.0, EPOCH_2020 - 1):
        assert clock_suspect(measured, NOW)
        assert storage_time(measured, NOW) == NOW
