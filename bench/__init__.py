"""ShopLens benchmarks: each ``bench/bench_<name>.py`` exposes ``main(quick=False) -> dict``.

Run them with ``python -m bench [NAME ...] [--quick]`` (or ``make bench``); results go to
``bench/results/<name>.json``.
"""
