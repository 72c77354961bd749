import { ContainrError } from "../diag/errors.ts";
import { removeCredentials } from "../image/credentials.ts";
import { defineCommand } from "./command.ts";
import { registryDomain } from "./login.ts";
import { writeStdout } from "./output.ts";

export default defineCommand({
  meta: { name: "logout", description: "Remove a registry's credentials stored by containr login" },
  args: {
    server: { type: "positional", description: "SERVER (default: Docker Hub)" },
  },
  run({ args }) {
    const domain = registryDomain(args.server);
    if (!removeCredentials(domain)) {
      throw new ContainrError("INVALID_STATE", `not logged in to ${domain}`, { hint: "containr logout removes only what containr login stored" });
    }
    writeStdout(`Removing login credentials for ${domain}\n`);
  },
});
