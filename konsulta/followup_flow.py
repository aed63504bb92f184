"""A follow-up dialog as a Flow the one engine can run.

A flow declares follow-ups (`followups: [{id, after_days, when, steps}]`). To ask one,
outreach builds a Flow from the *parent run's pinned flow version* (not the newest
one: a citizen is followed up on the questions they actually answered):

- the same id with `.<followup id>` appended, the same version, languages, catalogs;
- `steps` are the follow-up's steps, `followups` empty;
- the only end message is a short thank-you from the bot's own catalog (gettext),
  since flows do not declare follow-up endings;
- `{{step}}` placeholders that name a step of the original dialog ("two weeks ago you
  reported {{what}}") are filled with the citizen's original answers once, when the
  Flow is built, per language, so they survive /restart; and those answers are also
  put into the new run's state, so `next` conditions may read them.

The follow-up run is a normal run with `parent_run_id` pointing at the original and
`source = "followup:<id>"`; its answers are rows of that run, linked to the original
through it. The conversation service recognises such a run and asks this module for
its Flow.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from typing import Any

from dialogs import engine
from dialogs.events import Translator, Turn
from dialogs.render import PLACEHOLDER, render
from dialogs.schema import EndMessage, Flow, FollowUp, Step, Text
from storage.types import FOLLOWUP_SOURCE

__all__ = [
    "FOLLOWUP_SOURCE",
    "followup_flow",
    "followup_id_of",
    "start_followup",
]


def followup_id_of(source: str | None) -> str | None:
    """The follow-up id a run's `source` names, or None for an ordinary run."""
    if source and source.startswith(FOLLOWUP_SOURCE):
        return source[len(FOLLOWUP_SOURCE) :]
    return None


def find_followup(flow: Flow, followup_id: str) -> FollowUp:
    for followup in flow.followups:
        if followup.id == followup_id:
            return followup
    raise KeyError(followup_id)


def followup_flow(
    flow: Flow,
    followup_id: str,
    texts: Callable[[str], Translator],
    parent_answers: Mapping[str, Any] | None = None,
) -> Flow:
    """The Flow of follow-up `followup_id` of `flow` (see the module docstring)."""
    followup = find_followup(flow, followup_id)
    own = {step.id for step in followup.steps}
    earlier = {k: v for k, v in (parent_answers or {}).items() if k not in own}

    def fill(text: Text) -> Text:
        found = PLACEHOLDER.findall(text if isinstance(text, str) else " ".join(text.values()))
        if not any(name in earlier for name in found):
            return text
        return {lang: render(flow.localize(text, lang), earlier) for lang in flow.languages}

    def filled(step: Step) -> Step:
        changes: dict[str, Any] = {"text": fill(step.text)}
        for name in ("help", "error", "min_label", "max_label"):
            value = getattr(step, name)
            if value is not None:
                changes[name] = fill(value)
        changes["options"] = [
            option.model_copy(update={"label": fill(option.label)}) for option in step.options
        ]
        return step.model_copy(update=changes)

    thanks = {
        lang: texts(lang).gettext("Thank you for telling us how things are.")
        for lang in flow.languages
    }
    derived = flow.model_copy(
        update={
            "id": f"{flow.id}.{followup.id}",
            "steps": [filled(step) for step in followup.steps],
            "ends": [EndMessage(text=thanks)],
            "followups": [],
            # Naming was decided in the run this follows up.
            "name_consent": None,
        }
    )
    return derived


def start_followup(
    flow: Flow, language: str, parent_answers: Mapping[str, Any], *, texts: Translator
) -> Turn:
    """The engine's first turn of a follow-up Flow, with the original answers in the
    state (under the follow-up's own answers) so conditions can read them."""
    turn = engine.start(flow, language, texts=texts)
    own = {step.id for step in flow.steps}
    state = copy.deepcopy(turn.state)
    earlier = {k: copy.deepcopy(v) for k, v in parent_answers.items() if k not in own}
    state["answers"] = {**earlier, **state["answers"]}
    return Turn(
        state=state,
        outputs=turn.outputs,
        answered=turn.answered,
        cleared=turn.cleared,
        completed=turn.completed,
        restarted=turn.restarted,
        notes=turn.notes,
    )
