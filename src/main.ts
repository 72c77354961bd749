#!/usr/bin/env bun
import { basename } from "node:path";
import { OCI_LINK_NAME, runCli } from "./cli/main.ts";

// Invoked through a link named containr-oci, the binary is `containr oci`.
const argv = process.argv.slice(2);
if (basename(process.argv0) === OCI_LINK_NAME) argv.unshift("oci");

// No top-level await: the executable is compiled to bytecode, which is CommonJS.
void runCli(argv).then((status) => process.exit(status));
