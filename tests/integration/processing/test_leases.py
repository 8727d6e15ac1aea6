"""Lease locks on SQLite and PostgreSQL: exclusive, expiring, fenced, audited."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from sqlalchemy import select

from tests.conftest import run_cli
from tributary.errors import LeaseLostError
from tributary.locks.lease import LeaseKeeper, acquire, check_and_extend, release
from tributary.metadata.db import session_scope
from tributary.metadata.models import ConfigChangeRow, TableLockRow


def test_only_one_of_many_racing_acquirers_wins(migrated_db: str) -> None:
    def attempt(i: int) -> bool:
        return acquire("shop.t1", f"worker-{i}", timedelta(seconds=30)) is not None

    with ThreadPoolExecutor(8) as pool:
        wins = list(pool.map(attempt, range(16)))
    assert sum(wins) == 1


def test_stale_lease_is_taken_over_and_the_old_holder_is_fenced(migrated_db: str) -> None:
    old = acquire("shop.t1", "dead-worker", timedelta(milliseconds=200))
    assert old is not None
    assert acquire("shop.t1", "new-worker", timedelta(seconds=30)) is None  # still held
    time.sleep(0.3)
    new = acquire("shop.t1", "new-worker", timedelta(seconds=30))
    assert new is not None and new.token == old.token + 1
    with pytest.raises(LeaseLostError, match="taken over"):
        check_and_extend(old)
    assert release(old) is False  # the dead holder cannot free the new holder's lease
    check_and_extend(new)
    assert release(new) is True
    again = acquire("shop.t1", "third", timedelta(seconds=30))
    assert again is not None and again.token == new.token + 1


def test_keeper_heartbeats_keep_a_short_lease_alive(migrated_db: str) -> None:
    # a 2 s lease beats every 0.67 s; at 600 ms (beats 200 ms apart) a loaded CI machine once
    # let one beat slip past the TTL and the intruder got the table
    lease = acquire("shop.t1", "busy-worker", timedelta(seconds=2))
    assert lease is not None
    with LeaseKeeper(lease, timedelta(seconds=2)) as keeper:
        time.sleep(5)  # well past the TTL: only heartbeats keep it
        assert acquire("shop.t1", "intruder", timedelta(seconds=30)) is None
        keeper.check()
    assert release(keeper.lease)


def test_force_release_is_audited_and_fences_the_holder(migrated_db: str) -> None:
    lease = acquire("shop.t1", "stuck-worker", timedelta(seconds=300))
    assert lease is not None
    code, _, err = run_cli("locks", "release", "shop.t1")
    assert code == 1 and "--force" in err
    code, out, err = run_cli("locks", "release", "shop.t1", "--force")
    assert code == 0, err
    assert "released (audited)" in out
    with pytest.raises(LeaseLostError):
        check_and_extend(lease)
    with session_scope() as s:
        audit = s.scalars(select(ConfigChangeRow).where(ConfigChangeRow.entity == "table_locks")).one()
        assert audit.action == "release_lock" and audit.before == {"holder": "stuck-worker", "token": lease.token}
        assert s.get(TableLockRow, "shop.t1").holder is None  # type: ignore[union-attr]
    code, out, _ = run_cli("locks", "list")
    assert code == 0 and "shop.t1" in out and "free" in out
