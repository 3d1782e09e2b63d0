"""Provenance: what entered a session through Ostiary, and which later calls echo it."""
