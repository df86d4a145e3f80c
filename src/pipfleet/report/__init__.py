"""Reports over the compliance database: rows -> table | json | csv | markdown | html.

``data`` reads one run into frozen dataclasses; every other module formats them and
never touches the database. ``serve`` puts the same dashboard and JSON behind HTTP.
"""
