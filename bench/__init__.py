"""National-scale benchmark suite (issue #6) and the load scenario of issue #7.

    python -m bench run --scale small|medium|full     generate data, measure, write BENCHMARKS.md
    python -m bench load --users 50 --minutes 10      only the #7 load scenario (data must exist)

See bench/README section in the project README ("Benchmarks").
"""
