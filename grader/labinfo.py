"""The lab's names as the writers show them: its title for people, its slug for machines."""

from __future__ import annotations

TITLE = "Lab 5"
"""The lab's name in the titles people read (feedback pages, the class summary)."""
SLUG = "lab5"
"""The lab's name where a machine reads it: the JUnit suite, the GitHub log's stop-commands token."""
