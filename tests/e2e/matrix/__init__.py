"""The end-to-end transport x era matrix: every check directly and through Ostiary."""
