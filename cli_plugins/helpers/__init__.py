"""Credential helpers for the tools people already use: git (`limen setup-git`, `limen
git-credential`), Docker (`docker-credential-limen`, `limen setup-docker`) and kubectl
(`limen kubectl-credential`). Each hands out a token the server accepts right now."""
