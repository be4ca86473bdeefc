// A real OpenID Provider for Limen's tests: the certified `oidc-provider` package, configured
// from the environment (PORT, ISSUER, CLIENTS as JSON, ACCOUNTS as JSON). People sign in
// through its development login form (any password), which the tests drive over HTTP.
import Provider from "oidc-provider";

const port = Number(process.env.PORT);
const issuer = process.env.ISSUER;
const clients = JSON.parse(process.env.CLIENTS);
const accounts = JSON.parse(process.env.ACCOUNTS);
// Signing keys (a private JWKS) when the test chooses them; else the package's dev keys.
const jwks = process.env.JWKS ? JSON.parse(process.env.JWKS) : undefined;

const provider = new Provider(issuer, {
  ...(jwks ? { jwks } : {}),
  clients,
  claims: {
    openid: ["sub"],
    email: ["email", "email_verified"],
    profile: ["name"],
    groups: ["groups"],
  },
  scopes: ["openid", "email", "profile", "groups", "offline_access"],
  conformIdTokenClaims: false, // put the claims in the ID token too, as many IdPs do
  pkce: { required: () => true },
  features: { devInteractions: { enabled: true } },
  findAccount: async (ctx, id) => {
    const account = accounts[id];
    if (!account) return undefined;
    return { accountId: id, claims: async () => ({ sub: id, ...account }) };
  },
  ttl: { Session: 600, Interaction: 600, Grant: 600, AccessToken: 600, IdToken: 600, AuthorizationCode: 60 },
});
provider.proxy = false;
provider.listen(port, "127.0.0.1", () => {
  console.log(`oidc-provider listening on ${port} as ${issuer}`);
});
