"""The panel's tabs, one builder each."""
