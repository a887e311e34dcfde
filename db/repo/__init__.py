"""Repositories: every write to a table, and every read the layers above need, as functions.

SQL lives here and in the query modules of ``db``; ``core``, ``labeling`` and ``app`` call these
functions and never write SQL themselves.
"""
