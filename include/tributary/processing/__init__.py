"""The file processor: per-table leases, pending files in DMS order, the engine, history, batches."""
