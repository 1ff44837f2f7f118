"""Labs as tests: a lab's own markdown, run step by step against the session's cluster.

- :mod:`.reader` (pure): the markdown's code blocks (CommonMark) and the steps in them;
- :mod:`.compare` (pure): the output a lab shows against what the command printed (drift);
- :mod:`.runner`: runs the steps in one namespace of the session layer, waiting as the fixtures do.
"""
