"""``pipfleet mcp``: the audit engine and the compliance database for coding assistants.

Named ``assistant`` rather than ``mcp`` so that ``import mcp`` always means the SDK.
``fleetdata`` reads the database, ``answers``, ``guidance`` and ``prompts`` are pure,
``server`` wires them into the SDK's MCPServer and ``transport`` serves it.
"""
