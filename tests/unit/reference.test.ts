import { describe, expect, test } from "bun:test";
import {
  familiarName,
  formatReference,
  isLoopbackRegistry,
  parseReference,
  registryHost,
} from "../../src/image/reference.ts";
import { errorOf } from "../helpers/errors.ts";

const DIGEST = `sha256:${"a".repeat(64)}`;

describe("parseReference normalises as Docker does", () => {
  const cases: [string, string][] = [
    ["alpine", "docker.io/library/alpine:latest"],
    ["alpine:3.19", "docker.io/library/alpine:3.19"],
    ["user/app", "docker.io/user/app:latest"],
    ["docker.io/alpine", "docker.io/library/alpine:latest"],
    ["index.docker.io/library/alpine:edge", "docker.io/library/alpine:edge"],
    ["localhost/app", "localhost/app:latest"],
    ["localhost:5000/app:v1", "localhost:5000/app:v1"],
    ["127.0.0.1:5000/a/b/c:t", "127.0.0.1:5000/a/b/c:t"],
    ["[::1]:5000/app", "[::1]:5000/app:latest"],
    ["quay.io/org/my-app__x.y:1.0_rc-1", "quay.io/org/my-app__x.y:1.0_rc-1"],
    ["Registry.Example/app", "Registry.Example/app:latest"],
    [`alpine@${DIGEST}`, `docker.io/library/alpine@${DIGEST}`],
    [`alpine:3@${DIGEST}`, `docker.io/library/alpine:3@${DIGEST}`],
    [`host:5000/app@${DIGEST}`, `host:5000/app@${DIGEST}`],
  ];
  for (const [input, expected] of cases) {
    test(`${input} → ${expected}`, () => {
      expect(formatReference(parseReference(input))).toBe(expected);
    });
  }

  test("a repository without tag when defaultTag is false", () => {
    expect(parseReference("alpine", { defaultTag: false })).toEqual({
      domain: "docker.io",
      path: "library/alpine",
      tag: undefined,
      digest: undefined,
    });
  });
});

describe("invalid references are refused with INVALID_REFERENCE", () => {
  const bad = [
    "",
    "Alpine",
    "user/App",
    "alpine:",
    "alpine:-tag",
    `alpine:${"t".repeat(129)}`,
    "alpine@sha256:abc",
    `alpine@md5:${"a".repeat(32)}`,
    `alpine@sha256:${"A".repeat(64)}`,
    "a//b",
    "a_/b",
    "-a",
    "a..b",
    "a___b",
    "host:port/app",
    ":tag",
    `${"a".repeat(256)}`,
  ];
  for (const input of bad) {
    test(JSON.stringify(input.length > 40 ? `${input.slice(0, 40)}…` : input), () => {
      const error = errorOf(() => parseReference(input));
      expect(error.code).toBe("INVALID_REFERENCE");
      expect(error.message).toContain("invalid reference format");
    });
  }
});

test("familiar names drop docker.io and library/", () => {
  expect(familiarName(parseReference("alpine"))).toBe("alpine");
  expect(familiarName(parseReference("docker.io/user/app"))).toBe("user/app");
  expect(familiarName(parseReference("localhost:5000/library/app"))).toBe("localhost:5000/library/app");
});

test("Docker Hub's API host and loopback registries", () => {
  expect(registryHost("docker.io")).toBe("registry-1.docker.io");
  expect(registryHost("quay.io")).toBe("quay.io");
  for (const domain of ["localhost", "localhost:5000", "127.0.0.1:5000", "127.1.2.3", "[::1]:5000"]) {
    expect(isLoopbackRegistry(domain)).toBe(true);
  }
  for (const domain of ["example.com", "10.0.0.1:5000", "127.0.0.1.example.com", "localhost.example"]) {
    expect(isLoopbackRegistry(domain)).toBe(false);
  }
});
