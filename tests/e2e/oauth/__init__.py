"""OAuth/OIDC server tests."""
