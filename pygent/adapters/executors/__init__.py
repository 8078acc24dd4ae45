"""Executors: where a batch's jobs run (threads in this process, or Ray tasks on a cluster)."""
