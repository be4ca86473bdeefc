"""`limen login`: pick a provider, run it, check who signed in, store the credentials."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import click

from ..completion import complete_providers
from ..config import same_server
from ..credentials import Credentials
from ..errors import AuthRequired, LimenError, UsageError
from ..oauth import get_json
from ..options import profile_options, runtime, storage_option
from ..plugins import first_answer, plugin_manager
from .login_identity import confirm_identity
from .logout import revoke_credentials

if TYPE_CHECKING:
    from ..providers import Provider
    from ..runtime import Runtime
    from ..stepup import Challenge

PROVIDER_FLAGS = {
    "browser": "browser",
    "device": "device",
    "client_credentials": "client-credentials",
    "api_key": "api-key",
    "password": "password",
}
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
STEP_UP_PROVIDERS = ("browser", "password")  # the logins that are a fresh sign-in


def _options(kw: dict[str, Any]) -> dict[str, Any]:
    options: dict[str, Any] = {}
    for item in kw.pop("extra"):
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise UsageError(f"-o/--option takes KEY=VALUE, not {item!r}.")
        options[key.strip().replace("-", "_")] = value
    scope = " ".join(kw.pop("scope"))
    if (max_age := kw.pop("max_age", None)) is not None:  # 0 is a value, not "unset"
        options["max_age"] = max_age
    options.update({k: v for k, v in kw.items() if v not in (None, False)})
    if scope:
        options["scope"] = scope
    return options


@click.command()
@click.option("--browser", is_flag=True, help="Sign in with a web browser (PKCE + loopback).")
@click.option("--device", is_flag=True, help="Sign in on another device with a code (RFC 8628).")
@click.option(
    "--client-credentials", is_flag=True, help="Log in as a service (client id + secret)."
)
@click.option("--api-key", is_flag=True, help="Use an API key.")
@click.option("--password", is_flag=True, help="Email and password at a hidden prompt.")
@click.option(
    "--provider",
    metavar="NAME",
    shell_complete=complete_providers,
    help="Any installed provider (see `limen providers`).",
)
@profile_options
@storage_option
@click.option("--force", is_flag=True, help="Log in again even if already logged in.")
@click.option(
    "--user", metavar="EMAIL", help="Sign in as this account (login_hint); refuse others."
)
@click.option(
    "--org",
    metavar="ORG",
    help="Act in this organisation (browser; others: `limen org switch` after logging in).",
)
@click.option("--port", type=click.IntRange(1, 65535), help="Fixed loopback port (browser).")
@click.option("--paste", is_flag=True, help="Paste the final redirect URL instead of a listener.")
@click.option("--no-browser", is_flag=True, help="Print the sign-in URL; do not open a browser.")
@click.option(
    "--timeout",
    type=click.IntRange(1, 3600),
    default=300,
    show_default=True,
    help="Seconds to wait for the browser.",
)
@click.option("--client-id", metavar="ID", help="Client id (client-credentials).")
@click.option("--client-secret", metavar="SECRET", help="Client secret (prefer the env var).")
@click.option(
    "--scope",
    multiple=True,
    metavar="SCOPE",
    help="Scope to ask for (client-credentials; browser: instead of the CLI's default scopes).",
)
@click.option("--secret-stdin", is_flag=True, help="Read the password, key or secret from stdin.")
@click.option(
    "--max-age",
    type=click.IntRange(0, 10**9),
    help="Sign in again unless your sign-in is at most this many seconds old (browser; 0: "
    "always). Implies --force.",
)
@click.option(
    "--acr-values",
    metavar="ACR",
    help="Ask for this strength of sign-in, e.g. urn:limen:acr:2fa (browser). Implies --force.",
)
@click.option(
    "-o",
    "--option",
    "extra",
    multiple=True,
    metavar="KEY=VALUE",
    help="An option for a plugin provider.",
)
def login(**kw: Any) -> None:
    """Log in and store the credentials for this profile."""
    rt = runtime()
    chosen = _chosen_provider(kw)
    force, user = kw.pop("force"), kw.get("user")
    options = _options(kw)
    # A step-up sign-in (--max-age/--acr-values) is wanted even with a working session, and
    # asks for the scopes the profile holds (those the action needed).
    step_up = "max_age" in options or "acr_values" in options
    force = force or step_up
    if _env_credential_in_use(rt, chosen):
        return
    store, note = rt.store_and_note  # a forced but unusable keyring fails here, before any step
    name = chosen or _default_provider(rt, options)
    info = rt.providers.get(name)
    if info is None:
        raise UsageError(
            f"No login provider named {name!r}.",
            f"Installed: {', '.join(sorted(rt.providers))} (see `limen providers`).",
        )
    if step_up and name not in STEP_UP_PROVIDERS:
        raise UsageError(
            f"--max-age and --acr-values ask for a fresh sign-in, which a {name!r} login is "
            "not (a device approval inherits the browser's sign-in; keys and services have "
            "none).",
            "Use `limen login --browser` or `limen login --password` with them.",
        )
    if options.get("org") and name != "browser":
        raise UsageError(
            f"--org asks the browser sign-in for an organisation; {name!r} logins do not take it.",
            "Log in, then run `limen org switch ORG`.",
        )
    if not chosen and not rt.console.interactive and _waits_for_nobody_here(rt, info.provider):
        raise _nobody_here(name)
    _adopt_issuer(rt)
    if not force and _already_logged_in(rt, chosen, user):
        return
    if note:
        rt.console.warn(note)
    _warn_insecure(rt)
    held = rt.manager.stored()
    if step_up and "scope" not in options and held is not None and held.scope:
        options["scope"] = held.scope
    creds = _run_provider(rt, info.provider, name, options, user)
    _replace(rt, creds)
    who = _remember(rt, name, store.name, creds)
    settings = rt.settings
    rt.console.say(
        f"Logged in to {settings.server} as {who} (profile {settings.profile!r}, via {name})."
    )
    if creds.scope:
        rt.console.say(f"Granted scopes: {creds.scope}")
    rt.console.say(f"Credentials stored in {store.location()}.")


def _waits_for_nobody_here(rt: Runtime, provider: Provider) -> bool:
    """A login that waits for a person, with no terminal to reach one. A browser command
    configured in LIMEN_BROWSER is an explicit way to reach them (docs/cli.md)."""
    if provider.needs_browser and not provider.needs_person and rt.env.get("LIMEN_BROWSER"):
        return False
    return provider.waits_for_person


def _nobody_here(name: str) -> UsageError:
    """No terminal and no provider chosen: never start a login that waits for a person."""
    return UsageError(
        f"No terminal here, so limen will not start a {name!r} login that waits for someone "
        "to approve it.",
        "Choose a way that needs nobody: LIMEN_CLIENT_ID + LIMEN_CLIENT_SECRET (then `limen "
        "login` uses them), `limen login --api-key --secret-stdin`, `limen login --password "
        "--user EMAIL --secret-stdin`, or LIMEN_TOKEN / LIMEN_API_KEY without logging in; "
        f"or ask for it explicitly: `limen login --{name}`.",
    )


def _adopt_issuer(rt: Runtime) -> None:
    """Use the name the server gives itself when it is another name for the same loopback
    server (localhost vs 127.0.0.1), so the CLI and the server print the same URL."""
    server, issuer = rt.settings.server, rt.metadata().issuer.rstrip("/")
    if issuer != server and same_server(server, issuer):
        rt.console.note(f"Using {issuer}, the server's own name for {server}.")
        rt.use_server(issuer, f"the issuer of {server}")


def _chosen_provider(kw: dict[str, Any]) -> str | None:
    """The provider named on the command line (at most one)."""
    chosen = [name for flag, name in PROVIDER_FLAGS.items() if kw.pop(flag)]
    if provider := kw.pop("provider"):
        chosen.append(provider)
    if len(chosen) > 1:
        raise UsageError(f"Choose one way to log in, not {' and '.join(chosen)}.")
    return chosen[0] if chosen else None


def _run_provider(
    rt: Runtime, provider: Provider, name: str, options: dict[str, Any], user: str | None
) -> Credentials:
    """Run the provider; the identity check runs once (the provider may trigger it early)."""
    context = rt.manager.login_context(name, options)
    confirmed: set[str] = set()

    def confirm(creds: Credentials) -> None:
        if creds.access_token not in confirmed:
            confirm_identity(rt, creds, user)
            confirmed.add(creds.access_token)

    context.confirm = confirm
    creds = provider.login(context)
    confirm(creds)
    return creds


def _remember(rt: Runtime, provider: str, storage: str, creds: Credentials) -> str:
    """Record the profile's non-secret settings in config.toml; returns who logged in."""
    who = creds.email or creds.subject or "?"
    config, settings = rt.config, rt.settings
    config.update_profile(
        settings.profile,
        server=settings.server,
        provider=provider,
        storage=storage,
        user=who,
        client_id=creds.client_id if creds.kind == "client_credentials" else None,
    )
    config.default_profile = config.default_profile or settings.profile
    config.save()
    return who


def _env_credential_in_use(rt: Runtime, chosen: str | None) -> bool:
    """With LIMEN_TOKEN/LIMEN_API_KEY set, never prompt or open a browser: report and stop."""
    env = rt.manager.env_credential()
    if env is None:
        return False
    if chosen == "api-key" and env.variable == "LIMEN_API_KEY":
        me = get_json(rt.http, rt.api_url("me"), env.value, rt.settings.server)
        rt.console.say(
            f"Using LIMEN_API_KEY from the environment (never stored): it works, as "
            f"{me.get('email') or me.get('sub')} on {rt.settings.server}."
        )
        return True
    raise UsageError(
        f"{env.variable} is set in the environment; limen uses it and will not log in over it.",
        f"Unset {env.variable} to log in with a stored session.",
    )


def _default_provider(rt: Runtime, options: dict[str, Any]) -> str:
    """The profile's (or LIMEN_PROVIDER's) provider; else, without a terminal and with
    LIMEN_CLIENT_ID + LIMEN_CLIENT_SECRET set (CI), client credentials; else the
    choose_default_provider hook."""
    if rt.settings.provider:
        return rt.settings.provider
    ci = rt.env.get("LIMEN_CLIENT_ID") and rt.env.get("LIMEN_CLIENT_SECRET")
    if ci and not rt.console.interactive:
        return "client-credentials"
    context = rt.manager.login_context("", options)
    picked = first_answer(plugin_manager(), "choose_default_provider", context=context)
    return str(picked or "device")


def _already_logged_in(rt: Runtime, chosen: str | None, user: str | None) -> bool:
    """True (after saying so) when a working session for the requested user exists."""
    creds = rt.manager.stored()
    if creds is None or (chosen and chosen != creds.provider):
        return False
    who = creds.email or creds.subject
    if user and (who or "").lower() != user.lower():
        return False
    try:
        rt.manager.check(rt.request("GET", rt.api_url("me")))
    except AuthRequired:
        return False
    rt.console.say(
        f"Already logged in to {rt.settings.server} as {who} (profile {rt.settings.profile!r}, "
        f"via {creds.provider}); nothing to do. Use --force to log in again."
    )
    return True


def _replace(rt: Runtime, creds: Credentials) -> None:
    """Store ``creds``; an older session of this profile is revoked (best effort)."""
    old = rt.store.load(rt.settings.profile)
    rt.store.save(rt.settings.profile, creds)
    if (
        old is not None
        and old.server == creds.server
        and old.refresh_token
        and old.refresh_token != creds.refresh_token
    ):
        try:
            revoke_credentials(rt, old)
        except LimenError:
            rt.console.note("(The previous session could not be revoked; it will expire.)")


def _warn_insecure(rt: Runtime) -> None:
    parts = urlsplit(rt.settings.server)
    if parts.scheme == "http" and parts.hostname not in LOOPBACK_HOSTS:
        rt.console.warn(
            f"{rt.settings.server} is plain HTTP: tokens would cross the network unencrypted. "
            "Use https:// unless this network is trusted."
        )


def sign_in_again(rt: Runtime, challenge: Challenge) -> bool:
    """Answer a step-up challenge (RFC 9470) with a fresh sign-in of the same person, the
    same way (browser or password) and for the same scopes, stored like `limen login` stores
    it. False (nothing done) where that cannot happen: an environment credential, another
    kind of login, or nobody to take part (no terminal; for a browser, no LIMEN_BROWSER)."""
    if rt.manager.env_credential() is not None:
        return False
    creds = rt.manager.stored()
    if creds is None or creds.provider not in STEP_UP_PROVIDERS:
        return False
    info = rt.providers.get(creds.provider)
    if info is None:
        return False
    if not rt.console.interactive and (
        creds.provider == "password" or _waits_for_nobody_here(rt, info.provider)
    ):
        return False
    rt.console.say(
        "The server asks for a fresh sign-in for this action "
        f"({challenge.description or 'step-up'}); signing in again."
    )
    options = challenge.login_options()
    if creds.scope:
        options["scope"] = creds.scope
    fresh = _run_provider(rt, info.provider, creds.provider, options, creds.email)
    _replace(rt, fresh)
    return True
