"""The guides `pipfleet mcp` serves, shipped inside pipfleet as the package pipfleet.guides.

Only integration-guides/ and templates/ are package data; the rest of docs/ is for readers.
"""
