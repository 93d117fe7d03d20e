"""The live session: tasks typed at a prompt, constraints said while they run becoming
enforced rules, stop, review, undo (``tether`` with no arguments, ``tether pair``)."""
