import { ContainrError } from "../diag/errors.ts";
import { saveCredentials } from "../image/credentials.ts";
import { DOCKER_HUB_DOMAIN, parseReference } from "../image/reference.ts";
import { RegistryClient } from "../image/registry.ts";
import { defineCommand } from "./command.ts";
import { tlsVerifyFlag } from "./image/common.ts";
import { writeStderr, writeStdout } from "./output.ts";

/** "host:5000", "https://host:5000/v1/" or nothing (Docker Hub) → the registry domain. */
export function registryDomain(server: string | undefined): string {
  if (!server) return DOCKER_HUB_DOMAIN;
  const host = server.replace(/^[a-z]+:\/\//, "").split("/")[0]!;
  if (host === "index.docker.io" || host === "registry-1.docker.io") return DOCKER_HUB_DOMAIN;
  // Checked with the reference grammar's domain rule.
  return parseReference(`${host}/x`).domain;
}

export default defineCommand({
  meta: { name: "login", description: "Log in to a registry (credentials stored in ~/.config/containr/auth.json)" },
  args: {
    server: { type: "positional", description: "SERVER (default: Docker Hub)" },
    username: { type: "string", alias: "u", description: "User name", valueHint: "user" },
    password: { type: "string", alias: "p", description: "Password (prefer --password-stdin)", valueHint: "password" },
    passwordStdin: { type: "boolean", description: "Read the password from stdin" },
    tlsVerify: tlsVerifyFlag,
  },
  async run({ args }) {
    const domain = registryDomain(args.server);
    if (!args.username) throw new ContainrError("USAGE", "login needs --username", { hint: "containr login -u USER --password-stdin SERVER" });
    if (args.password !== undefined && args.passwordStdin) throw new ContainrError("USAGE", "--password and --password-stdin are mutually exclusive");
    let password = args.password;
    if (args.passwordStdin) password = (await Bun.stdin.text()).replace(/\r?\n$/, "");
    if (!password) throw new ContainrError("USAGE", "login needs a password", { hint: "pass it on stdin with --password-stdin" });
    const credentials = { username: args.username, password };
    // Check them the way docker login does: an authenticated request to the registry.
    await new RegistryClient(domain, { credentials, tlsVerify: args.tlsVerify }).ping();
    const file = saveCredentials(domain, credentials);
    writeStderr(`Credentials saved in ${file}\n`);
    writeStdout("Login Succeeded\n");
  },
});
