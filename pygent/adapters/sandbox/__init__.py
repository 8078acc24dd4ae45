"""The sandboxes: one persistent-shell machinery (:mod:`.shell`), local and Docker over it."""
