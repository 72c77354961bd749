import { describe, expect, test } from "bun:test";
import { generateId, isFullId, resolveReference, shortId, validateName, type ReferenceIndex } from "../../src/engine/ids.ts";
import { generateName, NAME_ATTEMPTS, NAME_WORDS } from "../../src/engine/names.ts";
import { errorOf } from "../helpers/errors.ts";

describe("ids", () => {
  test("an id is 64 lower-case hex digits, different each time", () => {
    const ids = new Set(Array.from({ length: 200 }, generateId));
    expect(ids.size).toBe(200);
    for (const id of ids) {
      expect(id).toMatch(/^[0-9a-f]{64}$/);
      // dockerd redraws ids whose short form is all digits (it is the hostname)
      expect(id.slice(0, 12)).not.toMatch(/^[0-9]+$/);
    }
  });

  test("short ids are 12 characters, without an algorithm prefix", () => {
    const id = "4bed76d3ad428f1d40b7c0c6e0c1b5b6a3b2c1d0e9f8a7b6c5d4e3f2a1b0c9d8";
    expect(shortId(id)).toBe("4bed76d3ad42");
    expect(shortId(`sha256:${id}`)).toBe("4bed76d3ad42");
    expect(shortId("abc")).toBe("abc");
    expect(isFullId(id)).toBe(true);
    expect(isFullId(id.toUpperCase())).toBe(false);
    expect(isFullId(id.slice(1))).toBe(false);
  });
});

describe("names", () => {
  test("Docker's rule ^/?[a-zA-Z0-9][a-zA-Z0-9_.-]+$, stored without the slash", () => {
    expect(validateName("web")).toBe("web");
    expect(validateName("/web")).toBe("web");
    expect(validateName("a1")).toBe("a1");
    expect(validateName("my_app.v2-1")).toBe("my_app.v2-1");
    for (const bad of ["a", "/a", "", "-web", "_web", ".web", "we b", "web/x", "wéb", "//web"]) {
      const err = errorOf(() => validateName(bad));
      expect(err.code).toBe("USAGE");
      expect(err.message).toBe(`Invalid container name (${bad}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`);
    }
  });

  test("generated names are adjective_surname from moby's lists", () => {
    expect(NAME_WORDS.left.length).toBe(108);
    expect(NAME_WORDS.right.length).toBe(236);
    expect(NAME_WORDS.left).toContain("admiring");
    expect(NAME_WORDS.right).toContain("wozniak");
    for (let i = 0; i < 100; i++) {
      const name = generateName(0);
      const [left, right] = name.split("_");
      expect(NAME_WORDS.left).toContain(left as string);
      expect(NAME_WORDS.right).toContain(right as string);
      expect(() => validateName(name)).not.toThrow();
    }
  });

  test("retries append one digit", () => {
    for (let attempt = 1; attempt < NAME_ATTEMPTS; attempt++) {
      expect(generateName(attempt)).toMatch(/^[a-z]+_[a-z]+[0-9]$/);
    }
  });

  test("boring_wozniak is redrawn: Steve Wozniak is not boring", () => {
    const boring = NAME_WORDS.left.indexOf("boring");
    const wozniak = NAME_WORDS.right.indexOf("wozniak");
    // first draw lands on boring + wozniak, the second on the first words of each list
    const draws = [boring / NAME_WORDS.left.length, wozniak / NAME_WORDS.right.length, 0, 0];
    const random = () => draws.shift() ?? 0;
    expect(generateName(0, random)).toBe("admiring_agnesi");
  });
});

describe("resolveReference follows dockerd's order", () => {
  const A = `abc${"1".repeat(61)}`;
  const B = `abd${"2".repeat(61)}`;
  // a container named like another one's id prefix
  const C = `fff${"3".repeat(61)}`;
  const containers = [
    { id: A, name: "web" },
    { id: B, name: "db" },
    { id: C, name: "abc" },
  ];
  const index: ReferenceIndex<{ id: string; name: string }> = {
    byId: (id) => containers.find((c) => c.id === id),
    byName: (name) => containers.find((c) => c.name === name),
    byIdPrefix: (prefix) => containers.filter((c) => c.id.startsWith(prefix)),
  };

  test("full id, then name with or without slash, then unique prefix", () => {
    expect(resolveReference(A, index).name).toBe("web");
    expect(resolveReference("web", index).id).toBe(A);
    expect(resolveReference("/db", index).id).toBe(B);
    expect(resolveReference("abd", index).id).toBe(B);
    expect(resolveReference("f", index).id).toBe(C);
  });

  test("an exact name wins over an id prefix", () => {
    expect(resolveReference("abc", index).id).toBe(C);
  });

  test("an ambiguous prefix is an error naming it", () => {
    const err = errorOf(() => resolveReference("ab", index));
    expect(err.code).toBe("USAGE");
    expect(err.message).toBe("multiple IDs found with provided prefix: ab");
  });

  test("unknown references get Docker's wording", () => {
    for (const ref of ["nope", "abe", "ABC", `${A}0`]) {
      const err = errorOf(() => resolveReference(ref, index));
      expect(err.code).toBe("CONTAINER_NOT_FOUND");
      expect(err.message).toBe(`No such container: ${ref}`);
    }
  });

  test("an empty reference is refused", () => {
    const err = errorOf(() => resolveReference("", index));
    expect(err.code).toBe("USAGE");
    expect(err.message).toBe("invalid container name or ID: value is empty");
  });
});
