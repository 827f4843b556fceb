"""Adapters that run each peer detector in its own virtual environment (bench/setup_peers.sh)."""
