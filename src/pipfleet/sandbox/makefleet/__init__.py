"""Write a synthetic fleet folder: many repositories, realistic Pipfiles, both package indexes.

The folder is what ``pipfleet.sandbox.fleet.load_fleet`` reads. It mixes what a
real org accumulates: compliant and non-compliant private entries, monorepos,
lock files, archived repositories and forks, repositories outside the ``orb-*``
prefix, opt-outs and a few broken Pipfiles, private packages that need other
private packages, and locks whose private entries came from another index; and, beside
or instead of Pipfiles, uv and Poetry projects and requirements files (see ``manifests``).

Everything is drawn from ``random.Random(seed)`` in a fixed order (which private
packages need others, and the uv, Poetry and requirements files, from rngs of their own
seeded from the same seed), sets are
only ever used for membership, and no timestamp is written: a seed always gives
the same bytes.
"""

from pipfleet.sandbox.makefleet.fleet import FleetSummary, make_fleet
from pipfleet.sandbox.makefleet.names import PRIVATE_NAMES, PUBLIC
from pipfleet.sandbox.makefleet.repos import IGNORE_TOPIC, PREFIX

__all__ = ["IGNORE_TOPIC", "PREFIX", "PRIVATE_NAMES", "PUBLIC", "FleetSummary", "make_fleet"]
