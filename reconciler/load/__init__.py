"""Load: reconciler.yaml, the declaration files and the git revision they are compared with,
checked and confined before anything reads them."""
