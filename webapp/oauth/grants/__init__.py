"""The token endpoint's grants, one module each (as Authlib's ``rfc6749/grants``):
authorization code with PKCE, refresh, client credentials, and the device grant with its
device authorization endpoint (RFC 8628)."""
