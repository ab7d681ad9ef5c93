"""Template engines of asyncso: Go's text/template (as ESO runs it) and the Jinja engine."""
