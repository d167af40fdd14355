"""Output: files written into the site folder (pages' files, data files, chart specs) and
the manifest that makes rebuilds incremental."""
