from __future__ import annotations

from tributary.hudi.timeline import COMPLETED, INFLIGHT, REQUESTED, next_time, parse_instant_name


def test_instant_names_v6_and_v8() -> None:
    assert parse_instant_name("20240418173213674.commit").state == COMPLETED
    assert parse_instant_name("20240418173213674.inflight").action == "commit"
    assert parse_instant_name("20240418173213674.inflight").state == INFLIGHT
    assert parse_instant_name("20240418173213674.replacecommit.requested").state == REQUESTED
    v8 = parse_instant_name("20250713010139392_20250713010140981.commit")
    assert v8 is not None and v8.completion == "20250713010140981" and v8.state == COMPLETED
    assert parse_instant_name("hoodie.properties") is None


def test_new_times_strictly_increase_even_if_clock_is_behind() -> None:
    future = "29991231235959998"
    t1 = next_time(future)
    assert t1 == "29991231235959999" and len(t1) == 17
    t2 = next_time(t1)
    assert t2 > t1
