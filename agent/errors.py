"""The agent's errors: one root, messages written for the customer."""

from __future__ import annotations


class AgentError(Exception):
    """Root of every error the agent raises on purpose."""


class BrandingError(AgentError):
    """The branding (embedded, sidecar or --config) is missing or invalid."""
