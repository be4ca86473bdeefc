// Peer server for Limen's client_credentials benchmark: the npm `oidc-provider` package,
// run as WORKERS node:cluster processes sharing one port on 127.0.0.1.
//
// Environment:
//   PORT     (required) TCP port to listen on, on 127.0.0.1
//   WORKERS  (default 2) number of worker processes
//   ISSUER   (default http://127.0.0.1:$PORT)
//
// Access tokens are JWTs (RFC 9068, typ at+jwt) signed ES256 with a P-256 key that the primary
// generates at start and hands to every worker, so any worker's token verifies with the one JWKS.
import cluster from "node:cluster";
import { generateKeyPairSync, randomBytes } from "node:crypto";

const port = Number(process.env.PORT);
if (!Number.isInteger(port) || port <= 0 || port > 65535) {
  console.error("PORT must be set to a TCP port number");
  process.exit(2);
}
const workers = Number(process.env.WORKERS ?? "2");
if (!Number.isInteger(workers) || workers < 1) {
  console.error("WORKERS must be a positive integer");
  process.exit(2);
}
const issuer = process.env.ISSUER || `http://127.0.0.1:${port}`;

const RESOURCE = "https://api.bench.example";
const SCOPE = "api:read";
const CLIENT = {
  client_id: "bench-client",
  client_secret: "bench-secret-0123456789abcdef0123456789",
  grant_types: ["client_credentials"],
  response_types: [],
  redirect_uris: [],
  token_endpoint_auth_method: "client_secret_basic",
  scope: SCOPE,
};

if (cluster.isPrimary) {
  runPrimary();
} else {
  await runWorker();
}

function runPrimary() {
  // One signing key and one cookie key for the whole cluster.
  const { privateKey } = generateKeyPairSync("ec", { namedCurve: "P-256" });
  const jwk = { ...privateKey.export({ format: "jwk" }), kid: "bench-es256", alg: "ES256", use: "sig" };
  const env = {
    BENCH_PEER_JWKS: JSON.stringify({ keys: [jwk] }),
    BENCH_PEER_COOKIE_KEY: randomBytes(32).toString("base64url"),
  };

  let listening = 0;
  let stopping = false;

  for (let i = 0; i < workers; i += 1) {
    cluster.fork(env);
  }

  cluster.on("listening", () => {
    listening += 1;
    if (listening === workers) {
      console.log(`ready http://127.0.0.1:${port}`);
    }
  });

  cluster.on("exit", (worker, code, signal) => {
    if (stopping) {
      if (Object.keys(cluster.workers).length === 0) process.exit(0);
      return;
    }
    // A worker that dies under load would silently halve the capacity: fail loudly instead.
    console.error(`worker ${worker.process.pid} exited (code ${code}, signal ${signal}); stopping`);
    shutdown(1);
  });

  function shutdown(exitCode) {
    if (stopping) return;
    stopping = true;
    const alive = Object.values(cluster.workers);
    if (alive.length === 0) process.exit(exitCode);
    for (const worker of alive) worker.process.kill("SIGTERM");
    // Give the workers a moment, then go regardless.
    setTimeout(() => process.exit(exitCode), 3000).unref();
    process.exitCode = exitCode;
  }

  process.on("SIGTERM", () => shutdown(0));
  process.on("SIGINT", () => shutdown(0));
}

async function runWorker() {
  const { default: Provider } = await import("oidc-provider");

  const provider = new Provider(issuer, {
    jwks: JSON.parse(process.env.BENCH_PEER_JWKS),
    cookies: { keys: [process.env.BENCH_PEER_COOKIE_KEY] },
    clients: [CLIENT],
    clientDefaults: {
      grant_types: ["client_credentials"],
      response_types: [],
      id_token_signed_response_alg: "ES256",
      token_endpoint_auth_method: "client_secret_basic",
    },
    scopes: [SCOPE],
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: async () => RESOURCE,
        useGrantedResource: async () => true,
        getResourceServerInfo: async (_ctx, resourceIndicator) => {
          if (resourceIndicator !== RESOURCE) {
            const { errors } = Provider;
            throw new errors.InvalidTarget();
          }
          return {
            scope: SCOPE,
            audience: RESOURCE,
            accessTokenFormat: "jwt",
            accessTokenTTL: 600,
            jwt: { sign: { alg: "ES256" } },
          };
        },
      },
    },
    ttl: { AccessToken: 600, ClientCredentials: 600 },
    // Nothing here is ever called for client_credentials; defined so the package has no
    // reason to warn about defaults.
    findAccount: async () => undefined,
  });
  provider.proxy = false;

  // Quiet: errors from the server are the package's own events; print nothing per request.
  provider.on("server_error", (_ctx, err) => {
    console.error(`server_error: ${err?.message ?? err}`);
  });

  const server = provider.listen(port, "127.0.0.1");
  const stop = () => {
    server.close(() => process.exit(0));
    server.closeAllConnections?.();
    setTimeout(() => process.exit(0), 2000).unref();
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}
