"""The one kind of error a user can cause, and fix.

Bad input (a malformed puzzle, a wrong-shaped tensor, a CSV in another layout), a missing, foreign or
unsafe file, a setting out of range: each raises a :class:`UserError` whose message names the file,
row or setting and says what to do. The ``trm`` command catches it once, at the top, and prints
its message as one line with exit code 2. Anything else is a bug and keeps its traceback.

It subclasses ``ValueError``, so code that caught ``ValueError`` before keeps working.
"""


class UserError(ValueError):
    """An error caused by the user's input, files or settings, with a message that says how to fix it."""
