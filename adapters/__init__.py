"""Backends: the reference implementation and adapters for the libraries under test.

One module per backend; see ``protocol.py`` for what an adapter implements and
``registry.py`` for how ``--backend`` finds one.
"""
