"""A single-node Kubernetes made of host processes: no Docker, no outside registry.

Usable without pytest: ``LocalCluster(ClusterConfig()).up()``. The ``pytest-pods cluster`` command and
the ``local`` provider are thin layers over this package.
"""
