"""Gather: read a store snapshot into frozen records. Nothing here renders or writes.

``site`` reads every run (records and metric summaries) and derives the aggregates;
``registry`` reads the model registry and its git history; ``run`` reads one run in
full and ``modelfiles`` one model folder, only for a page about to be rendered.
"""
