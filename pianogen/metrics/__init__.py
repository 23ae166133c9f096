"""Metrics as pure numpy functions, usable by training (logging) and evaluation alike."""
