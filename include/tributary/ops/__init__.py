"""The operators' view: table state (commits, backlog, lag, leases, errors, alerts) and actions."""
