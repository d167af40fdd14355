"""Git versioning of the store: the only package that runs git or imports a git library.

``run`` holds the process plumbing, ``commit`` the store's commits, ``native`` the commits
built in-process with libgit2 (pygit2, imported there only, when the first commit is made):
records and deletions, no git process; ``policy`` what a repository asks of commits
(signing, the user's index, a detached HEAD), ``read`` what mltrail reads back (a script's
source, a store as of a commit, the history of paths), ``objects`` a commit's folders and
files (the site's project pages).
"""

from mltrail.git.commit import commit_paths, commit_with_hooks, identity_env, pending_paths
from mltrail.git.objects import (
    TreeEntry,
    has_commit,
    is_object_id,
    read_blob,
    resolve_commit,
    tree_entries,
)
from mltrail.git.read import DIFF_CAP, LogEntry, SourceInfo, export_tree, log_paths, source_info
from mltrail.git.run import LOCK_TIMEOUT, find_repo_root, init_repo

__all__ = [
    "DIFF_CAP",
    "LOCK_TIMEOUT",
    "LogEntry",
    "SourceInfo",
    "TreeEntry",
    "commit_paths",
    "commit_with_hooks",
    "export_tree",
    "find_repo_root",
    "has_commit",
    "identity_env",
    "init_repo",
    "is_object_id",
    "log_paths",
    "pending_paths",
    "read_blob",
    "resolve_commit",
    "source_info",
    "tree_entries",
]
