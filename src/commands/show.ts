import { CliError, UsageError } from "../errors.ts";
import { formatJson, formatTaskDetail, taskDetail } from "../format.ts";
import { identifiedTasks, loadTaskFiles } from "../tasks.ts";
import type { Command } from "./types.ts";

/** Reads a task id written as `12` or `#12`. */
export function parseId(text: string): number {
  const match = /^#?(\d+)$/.exec(text);
  if (match?.[1] === undefined) {
    throw new UsageError(`invalid task id '${text}' (expected a number such as 12)`);
  }
  return Number(match[1]);
}

export const showCommand: Command = {
  name: "show",
  summary: "show one task with all its sections",
  description:
    "Shows task ID from DIR (default: the current directory): its title, status,\n" +
    "priority and each section's heading and body. ID may be written 12 or #12.\n" +
    "When several files define the same id, the first by file name is shown.",
  positionals: [
    { name: "ID", optional: false },
    { name: "DIR", optional: true },
  ],
  flags: [{ name: "json", description: "print the task as a JSON object" }],
  run(args, io) {
    const id = parseId(args.positionals[0] ?? "");
    const dir = args.positionals[1] ?? ".";
    const matches = identifiedTasks(loadTaskFiles(dir, io.cwd)).filter(({ task }) => task.id === id);
    const [first, ...others] = matches;
    if (first === undefined) {
      throw new CliError(`no task #${id} in '${dir}'`);
    }
    for (const other of others) {
      io.stderr(`taskmd: warning: task #${id} is also defined in ${other.path}\n`);
    }
    io.stdout(args.flags.has("json") ? formatJson(taskDetail(first)) : formatTaskDetail(first));
    return 0;
  },
};
