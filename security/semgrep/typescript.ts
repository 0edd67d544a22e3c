// Cases for typescript.yml: `semgrep --test` checks that each `ruleid:` line matches and each
// `ok:` line does not. Never imported or run; excluded from the scan, the type check and lint.
import * as child_process from "node:child_process";
import { exec } from "node:child_process";

declare const input: string;
declare const $: { raw: (strings: TemplateStringsArray, ...values: unknown[]) => unknown };

// ruleid: code-from-string
eval(input);
// ruleid: code-from-string
const compiled = new Function("a", input);
// ruleid: code-from-string
setTimeout("alert(1)", 10);
// ok: code-from-string
setTimeout(() => compiled(), 10);
// ok: code-from-string
JSON.parse(input);

// ruleid: shell-command-string
child_process.exec(`ls ${input}`);
// ruleid: shell-command-string
child_process.execSync(input);
// ruleid: shell-command-string
exec(`git log ${input}`);
// ruleid: shell-command-string
child_process.spawn("ls", [input], { shell: true });
// ruleid: shell-command-string
Bun.spawn(["sh", "-c", `ls ${input}`]);
// ruleid: shell-command-string
$.raw`ls ${input}`;
// ok: shell-command-string
Bun.spawn(["ls", input]);
// ok: shell-command-string
/^\d+$/.exec(input);
// ok: shell-command-string
child_process.spawn("ls", [input]);

// ruleid: tls-verification-disabled
const agent = { rejectUnauthorized: false };
// ruleid: tls-verification-disabled
process.env.NODE_TLS_REJECT_UNAUTHORIZED = "0";
// ok: tls-verification-disabled
const verified = { rejectUnauthorized: true };

// ruleid: secret-in-output
console.log("token:", process.env.NPM_TOKEN);
// ruleid: secret-in-output
process.stderr.write(`key=${process.env.API_KEY}\n`);
// ok: secret-in-output
console.log("token set:", process.env.NPM_TOKEN !== undefined);
// ok: secret-in-output
console.log("home:", process.env.HOME);

export { agent, verified };
