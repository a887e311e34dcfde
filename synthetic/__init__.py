"""Synthetic shop data, clearly named as such, calibrated on real public data sets."""
