"""Reference answers of Lab 5's blanks. Loaded by the grader only, never by a worker."""
