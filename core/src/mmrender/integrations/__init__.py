"""Adapters to data engines (Ray Data); each module imports its engine itself, so core never does."""
