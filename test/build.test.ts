import { describe, expect, test } from "bun:test";

import { version } from "../package.json";
import { ROOT } from "./helpers.ts";

describe("the bundle that bun build --compile embeds", () => {
  test("holds the version from package.json, no other package.json field and no absolute path", async () => {
    const result = await Bun.build({
      entrypoints: [`${ROOT}/src/cli.ts`],
      target: "bun",
      minify: true,
    });
    expect(result.success).toBe(true);
    const code = (await result.outputs[0]?.text()) ?? "";
    expect(code).toContain(`"${version}"`);
    expect(code).not.toContain("devDependencies");
    expect(code).not.toContain(ROOT);
  });

  test("is the same when built twice", async () => {
    const build = async (): Promise<string> => {
      const result = await Bun.build({ entrypoints: [`${ROOT}/src/cli.ts`], target: "bun", minify: true });
      return (await result.outputs[0]?.text()) ?? "";
    };
    expect(await build()).toBe(await build());
  });
});
