"""Builds the topology from config and keeps it alive; the only layer (with the runtimes) that touches Ray."""
