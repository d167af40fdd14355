"""PUBLISH: builds the static site from a store (see the roadmap; not yet implemented)."""
