import { UsageError } from "../errors.ts";
import { formatJson, formatTaskTable, summarize } from "../format.ts";
import {
  normalizePriority,
  normalizeStatus,
  PRIORITIES,
  STATUSES,
} from "../parse.ts";
import { identifiedTasks, loadTaskFiles } from "../tasks.ts";
import { flagValue, type Command } from "./types.ts";

export const listCommand: Command = {
  name: "list",
  summary: "list the tasks in DIR as a table",
  description:
    "Lists the tasks in DIR (default: the current directory) as a table of id,\n" +
    "title, status and priority, sorted by id, then by file name. Files without\n" +
    "a '# Task #N: Title' heading are not tasks and are left out (see 'lint').",
  positionals: [{ name: "DIR", optional: true }],
  flags: [
    { name: "status", value: "S", description: `only tasks with status S (${STATUSES.join(", ")})` },
    {
      name: "priority",
      value: "P",
      description: `only tasks with priority P (${PRIORITIES.join(", ")})`,
    },
    { name: "json", description: "print a JSON array instead of a table" },
  ],
  run(args, io) {
    const statusFilter = flagValue(args, "status");
    const priorityFilter = flagValue(args, "priority");
    const status = statusFilter === undefined ? undefined : normalizeStatus(statusFilter);
    if (status === null) {
      throw new UsageError(
        `unknown status '${statusFilter ?? ""}' for --status (expected one of: ${STATUSES.join(", ")})`,
      );
    }
    const priority = priorityFilter === undefined ? undefined : normalizePriority(priorityFilter);
    if (priority === null) {
      throw new UsageError(
        `unknown priority '${priorityFilter ?? ""}' for --priority (expected one of: ${PRIORITIES.join(", ")})`,
      );
    }

    const dir = args.positionals[0] ?? ".";
    const tasks = identifiedTasks(loadTaskFiles(dir, io.cwd)).filter(
      ({ task }) =>
        (status === undefined || (task.status !== null && normalizeStatus(task.status) === status)) &&
        (priority === undefined ||
          (task.priority !== null && normalizePriority(task.priority) === priority)),
    );

    io.stdout(args.flags.has("json") ? formatJson(tasks.map(summarize)) : formatTaskTable(tasks));
    return 0;
  },
};
