"""The lesson: Socket.IO's tutorial steps 6 to 9 told in the notebooks, on the Jupyter layer.

What is here serves the tutorial only; what any notebook could reuse (the launcher, the chat
widget, the views, labels, the lifecycle) is in :mod:`chatlib.jupyter`.

- ``step6`` ... ``step9``: each step's live scenes and exercises;
- ``story``: the click-along story of step 6 (:class:`chatlib.ClickAlong`);
- ``exercises``: the exercise engine (check, tiered hints, solution: :class:`chatlib.Exercise`);
- ``strip``, ``cleanup``, ``faults``: the strip of widgets shown at each step, the clean-up
  button, step 8's lost messages and late acks;
- ``texts``: the lesson's words, one catalog per language.

Example (in a notebook cell)::

    from chatlib.lesson import step6
    ex1 = await step6.offsets_exercise("es")
"""
