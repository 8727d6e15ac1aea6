"""The file tracker: every CDC file that lands is registered once and assigned to its table."""
