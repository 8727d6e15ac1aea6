"""Per-table lease locks with fencing tokens (one writer per table)."""

from tributary.locks.lease import Lease, LeaseKeeper, acquire, check_and_extend, list_leases, release

__all__ = ["Lease", "LeaseKeeper", "acquire", "check_and_extend", "list_leases", "release"]
