"""The quickstart: build an edit-preference set from real photos, train, evaluate and save a small model, offline.

`run.run_quickstart` does it; `editreward quickstart` (editreward.commands.quickstart) is its command.
"""

QUICKSTART_SUMMARY = (
    "The quickstart: the package's whole job, offline and small, in one call (`editreward quickstart`)."
)
