"""The device authorization grant (RFC 8628): the device authorization endpoint that starts
a request, and the grant that polls it; ``identity.devices`` keeps the requests."""

from __future__ import annotations

from typing import Any

from authlib.oauth2.rfc6749.errors import InvalidGrantError, UnauthorizedClientError
from authlib.oauth2.rfc8628 import DeviceAuthorizationEndpoint, DeviceCodeGrant

from webapp.extensions import db, identity
from webapp.http import settings
from webapp.identity.clients import DEVICE_GRANT
from webapp.identity.oauth_codes import DEVICE_INTERVAL, DEVICE_TTL
from webapp.models import DeviceCode, User
from webapp.oauth.clients import ANY_CLIENT_METHODS
from webapp.oauth.tokens import ApprovedGrantTokens


class DeviceRecord:
    """Authlib's view of a device request."""

    def __init__(self, row: DeviceCode) -> None:
        self.row = row

    def get_client_id(self) -> str:
        return self.row.client_id

    def get_scope(self) -> str:
        return self.row.scope

    def get_user_code(self) -> str:
        return self.row.user_code

    def is_expired(self) -> bool:
        return self.row.expires_at <= identity().clock()


class DeviceGrant(ApprovedGrantTokens, DeviceCodeGrant):  # type: ignore[misc]
    TOKEN_ENDPOINT_AUTH_METHODS = list(ANY_CLIENT_METHODS)

    def query_device_credential(self, device_code: str) -> DeviceRecord:
        """The device request behind ``device_code``; an unknown or used code is
        ``invalid_grant`` (RFC 8628 §3.5, RFC 6749 §5.2)."""
        row = identity().devices.by_device_code(device_code)
        if row is None:
            raise InvalidGrantError("This device code is unknown or has expired.")
        if row.status == "consumed":
            raise InvalidGrantError("This device code has already been used.")
        return DeviceRecord(row)

    def query_user_grant(self, user_code: str) -> tuple[User, bool] | None:
        row = identity().devices.by_user_code(user_code)
        if row is None or row.status == "pending" or row.user_id is None:
            return None
        user = db.session.get(User, row.user_id)
        if user is None or not user.is_active:
            return None
        return user, row.status == "approved"

    def should_slow_down(self, credential: DeviceRecord) -> bool:
        return identity().devices.polled_too_fast(credential.row)

    def create_token_response(self) -> tuple[int, dict[str, Any], list[tuple[str, str]]]:
        if not identity().devices.consume(self.request.credential.row):
            raise InvalidGrantError("This device code has already been used.")
        return super().create_token_response()  # type: ignore[no-any-return]

    def approval(self) -> DeviceCode:
        """The device request this poll redeems: its tokens inherit the approving session's
        authentication context."""
        row: DeviceCode = self.request.credential.row
        return row


class DeviceAuthorization(DeviceAuthorizationEndpoint):  # type: ignore[misc]
    EXPIRES_IN = int(DEVICE_TTL.total_seconds())
    INTERVAL = DEVICE_INTERVAL

    def get_verification_uri(self) -> str:
        return f"{settings().issuer}/device"

    def create_endpoint_response(self, request: Any) -> tuple[int, dict[str, Any], Any]:
        client = self.authenticate_client(request)
        if not client.check_grant_type(DEVICE_GRANT):
            raise UnauthorizedClientError("This client may not use the device grant.")
        self.server.validate_requested_scope(request.payload.scope)
        scope = client.get_allowed_scope(request.payload.scope)
        device_code, row = identity().devices.start(client.get_client_id(), scope)
        body = {
            "device_code": device_code,
            "user_code": row.user_code,
            "verification_uri": self.get_verification_uri(),
            "verification_uri_complete": f"{self.get_verification_uri()}?user_code={row.user_code}",
            "expires_in": self.EXPIRES_IN,
            "interval": self.INTERVAL,
        }
        return 200, body, [("Content-Type", "application/json"), ("Cache-Control", "no-store")]
