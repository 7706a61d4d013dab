"""Retention: finished work kept for a time, then pruned a little at a time."""
