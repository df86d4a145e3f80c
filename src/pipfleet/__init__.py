"""pipfleet: audit and fix a fleet of Pipfiles so private packages resolve from CodeArtifact."""

__version__ = "0.1.0"
