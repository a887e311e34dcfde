"""Live progress of a background retrain job (polled from its state file every second)."""

from __future__ import annotations

from datetime import timedelta

import streamlit as st

from app.ui.i18n import label, t
from common.settings import Settings
from labeling.jobs import job_status

FINISHED_STATES = ("finished", "failed", "killed")


def job_key(task: str) -> str:
    """Where the page remembers the running job of a task."""
    return f"retrain_job_{task}"


@st.fragment(run_every=timedelta(seconds=1))
def job_progress(settings: Settings, task: str) -> None:
    """A progress bar for the task's retrain job; stops polling when the job ends."""
    job_id = st.session_state.get(job_key(task))
    if not job_id:
        return
    state = job_status(job_id, settings)
    progress = float(state.get("progress") or 0.0)
    message = state.get("message") or state.get("state", "")
    if state.get("state") in FINISHED_STATES:
        st.session_state.pop(job_key(task), None)
        text = t("Retrain {state}: {message}", state=label(state["state"]), message=message)
        if state["state"] == "finished":
            st.success(text)
        else:
            st.error(text)
        st.rerun()  # a full rerun shows the new version in the table
    st.progress(min(max(progress, 0.0), 1.0),
                text=t("Retraining {task}: {message} ({progress})", task=label(task),
                       message=message, progress=f"{progress:.0%}"))  # fmt: skip
