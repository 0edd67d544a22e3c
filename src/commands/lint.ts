import { EXIT_FAILURE, EXIT_OK } from "../errors.ts";
import { formatFindings, type Finding } from "../format.ts";
import {
  findSection,
  normalizePriority,
  normalizeStatus,
  PRIORITIES,
  REQUIRED_SECTIONS,
  STATUSES,
  type ParsedTask,
} from "../parse.ts";
import { loadTaskFiles, type TaskFile } from "../tasks.ts";
import type { Command } from "./types.ts";

/** Text that marks a section as not written yet, e.g. "[To be filled in]". */
const PLACEHOLDERS: readonly RegExp[] = [
  /\[(?:to be (?:filled in|filled|written|defined|determined|decided|done)|tbd|tbc|todo|placeholder|fill(?: this)? in|insert [^\]]*)\]/i,
  /^\s*(?:TBD|TBC)\.?\s*$/i,
];

function oneOf(values: readonly string[]): string {
  return `expected one of: ${values.join(", ")}`;
}

/** Findings about one task file, in line order; ids are checked across files by lintFiles. */
export function lintTask(task: ParsedTask): { line: number; message: string }[] {
  const findings: { line: number; message: string }[] = [...task.diagnostics];

  for (const name of REQUIRED_SECTIONS) {
    const section = findSection(task.sections, name);
    if (section === undefined) {
      findings.push({ line: task.line, message: `missing required section '## ${name}'` });
    } else if (section.body === "") {
      findings.push({ line: section.line, message: `required section '## ${name}' is empty` });
    }
  }

  const status = findSection(task.sections, "Status");
  if (status !== undefined && task.status !== null && normalizeStatus(task.status) === null) {
    findings.push({
      line: status.bodyLine,
      message: `unknown status '${task.status}' (${oneOf(STATUSES)})`,
    });
  }
  const priority = findSection(task.sections, "Priority");
  if (priority !== undefined && task.priority !== null && normalizePriority(task.priority) === null) {
    findings.push({
      line: priority.bodyLine,
      message: `unknown priority '${task.priority}' (${oneOf(PRIORITIES)})`,
    });
  }

  const seen = new Map<string, number>();
  for (const section of task.sections) {
    const key = section.heading.toLowerCase();
    const firstLine = seen.get(key);
    if (firstLine === undefined) {
      seen.set(key, section.line);
    } else {
      findings.push({
        line: section.line,
        message: `duplicate section '## ${section.heading}' (first on line ${firstLine})`,
      });
    }

    section.body.split("\n").forEach((text, offset) => {
      for (const pattern of PLACEHOLDERS) {
        const match = pattern.exec(text);
        if (match !== null) {
          findings.push({
            line: section.bodyLine + offset,
            message: `placeholder text '${match[0].trim()}' in section '## ${section.heading}'`,
          });
          break;
        }
      }
    });
  }

  return findings.sort((a, b) => a.line - b.line);
}

/** All findings for a directory's files, in file order, then line order. */
export function lintFiles(files: readonly TaskFile[]): Finding[] {
  const firstById = new Map<number, TaskFile>();
  const findings: Finding[] = [];
  for (const file of files) {
    const fileFindings = lintTask(file.task);
    const { id } = file.task;
    if (id !== null) {
      const first = firstById.get(id);
      if (first === undefined) {
        firstById.set(id, file);
      } else {
        fileFindings.push({
          line: file.task.line,
          message: `duplicate task id #${id} (first defined in ${first.name}:${first.task.line})`,
        });
        fileFindings.sort((a, b) => a.line - b.line);
      }
    }
    findings.push(...fileFindings.map((finding) => ({ path: file.path, ...finding })));
  }
  return findings;
}

export const lintCommand: Command = {
  name: "lint",
  summary: "check the task files in DIR",
  description:
    "Checks every *.md file in DIR (default: the current directory) and prints one\n" +
    "finding per line as 'file:line: message': missing or duplicate task ids,\n" +
    `unknown status or priority, missing or empty required sections\n` +
    `(${REQUIRED_SECTIONS.join(", ")}), duplicate sections, placeholder text such as\n` +
    "'[To be filled in]', and text the parser ignores. Exits 1 when there are\n" +
    "findings, 0 when the files are clean.",
  positionals: [{ name: "DIR", optional: true }],
  flags: [],
  run(args, io) {
    const dir = args.positionals[0] ?? ".";
    const files = loadTaskFiles(dir, io.cwd);
    const findings = lintFiles(files);
    if (findings.length === 0) {
      return EXIT_OK;
    }
    io.stdout(formatFindings(findings));
    const fileCount = new Set(findings.map((finding) => finding.path)).size;
    io.stderr(
      `taskmd: ${findings.length} ${findings.length === 1 ? "problem" : "problems"} in ${fileCount} ${fileCount === 1 ? "file" : "files"}\n`,
    );
    return EXIT_FAILURE;
  },
};
