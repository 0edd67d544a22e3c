//! The documentation is tested: README.md and every `docs/*.md`.
//!
//! - Every `cargo xtask …` command in them parses with the xtask's real command line
//!   ([`xtask::flags::Xtask`]); the recipes it names exist and take the arguments given, and its
//!   `--target`s are in the justfile's `targets`.
//! - Every `just …` command runs, dry, with the repository's real justfile and the pinned just:
//!   `just --dry-run --no-deps <words>`, so the recipe exists, takes those arguments, and its
//!   body evaluates with them (`just build linux-x86` fails, as it would for a reader).
//! - Every relative link between files resolves, and every `#anchor` is a heading of its
//!   document (GitHub's anchors). Links to `http(s)://` and `mailto:` are not followed.
//! - Every entry of `docs/troubleshooting.md` is a [`Topic`] and every topic has its entry, and
//!   every `thiserror` error type of `xtask/src` is in the list [`Topic`]s are looked up in.
//!
//! Where commands are taken from:
//!
//! - inline code in prose: a span that starts with `cargo xtask ` or `just ` is a command (the
//!   spans `cargo xtask` and `just` alone name the tools and are not commands);
//! - fenced code in `sh`, `bash`, `shell`, `zsh` or no language: every line is a command line;
//!   in `console`, only lines with a prompt (`$ `, `mac$ `) are, the rest is output;
//! - fenced `yaml`: the commands of `run:` steps;
//! - other languages (`text`, `just`, `json`, `toml`, `rust`, ...) hold output or data, not
//!   commands.
//!
//! A command line is split like a shell does (quotes, `\` line continuations, `# comments`,
//! `&&`, `||`, `;`, `|`); in each command, `NAME=value` assignments and the wrappers `dagger
//! run`, `env`, `time` are skipped; `cargo xtask` may also come later in the line (`cargo run
//! --example trace_tree -- cargo xtask ci`).
//!
//! Placeholders are replaced by a sample value, from [`PLACEHOLDERS`], before checking:
//! `<target>`, `$TARGET`, `"${TARGET}"` and the value names clap prints (`N`, `SECONDS`, ...).
//! A `<placeholder>` or `$VARIABLE` that the table does not know fails the test: add it there.
//! An elision (`…` or `...`) right after `cargo xtask` or `just` stands for any command and is
//! checked as `<command>` or `<recipe>`; anywhere else it stands for more arguments and is
//! dropped.

mod common;

use std::{
    collections::{BTreeMap, BTreeSet},
    path::{Path, PathBuf},
    process::Command,
};

use clap::Parser as _;
use pulldown_cmark::{CodeBlockKind, Event, HeadingLevel, Options, Parser, Tag, TagEnd};
use xtask::{
    flags::{self, Xtask},
    troubleshooting::Topic,
};

/// Sample values of placeholders: `<name>`, `$NAME`, and clap's value names.
const PLACEHOLDERS: &[(&str, &str)] = &[
    ("target", "linux-x64"),
    ("TARGET", "linux-x64"),
    ("recipe", "test"),
    ("variable", "bun_version"),
    ("RECIPE", "test"),
    ("command", "ci"),
    ("function", "test"),
    ("args", ""),
    ("arguments", ""),
    ("N", "2"),
    ("SECONDS", "30"),
    ("HOST", "registry.example.com"),
    ("FILE", "manifest.json"),
    ("DIR", "."),
    ("SEVERITY", "high"),
];

fn placeholder(name: &str) -> Option<&'static str> {
    PLACEHOLDERS
        .iter()
        .find(|(key, _)| *key == name)
        .map(|(_, value)| *value)
}

/// A document of the repository: its path relative to the root, and its text.
struct Doc {
    path: String,
    text: String,
}

fn documents() -> Vec<Doc> {
    let root = common::workspace_root();
    let mut paths = vec!["README.md".to_owned()];
    let mut docs: Vec<String> = std::fs::read_dir(root.join("docs"))
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| Path::new(name).extension().is_some_and(|ext| ext == "md"))
        .map(|name| format!("docs/{name}"))
        .collect();
    docs.sort();
    paths.extend(docs);
    paths
        .into_iter()
        .map(|path| Doc {
            text: std::fs::read_to_string(root.join(&path)).unwrap(),
            path,
        })
        .collect()
}

/// Which tool a command runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tool {
    Xtask,
    Just,
}

/// A command found in a document, with its placeholders replaced.
#[derive(Debug, Clone)]
struct Found {
    tool: Tool,
    /// The arguments after `cargo xtask` or `just`.
    words: Vec<String>,
    /// Where: `docs/ci.md:12`, and the text as written.
    place: String,
    written: String,
}

/// What a document holds for the checks: its commands, links and headings.
#[derive(Debug, Default)]
struct Parsed {
    commands: Vec<Found>,
    /// Problems met while extracting (an unknown placeholder, unbalanced quotes).
    problems: Vec<String>,
    /// `(destination, line)` of every link.
    links: Vec<(String, usize)>,
    /// `(level, text)` of every heading.
    headings: Vec<(u8, String)>,
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset].matches('\n').count() + 1
}

fn parse(path: &str, text: &str) -> Parsed {
    let mut parsed = Parsed::default();
    let mut code_block: Option<(String, usize, String)> = None;
    let mut heading: Option<(u8, String)> = None;
    let options = Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH;
    for (event, range) in Parser::new_ext(text, options).into_offset_iter() {
        match event {
            Event::Start(Tag::CodeBlock(kind)) => {
                let language = match kind {
                    CodeBlockKind::Fenced(info) => {
                        info.split_whitespace().next().unwrap_or("").to_owned()
                    }
                    CodeBlockKind::Indented => String::new(),
                };
                // The first line of the block's content is the one after the fence.
                let first = line_of(text, range.start) + 1;
                code_block = Some((language, first, String::new()));
            }
            Event::End(TagEnd::CodeBlock) => {
                if let Some((language, first, body)) = code_block.take() {
                    block_commands(path, &language, first, &body, &mut parsed);
                }
            }
            Event::Text(content) if code_block.is_some() => {
                code_block.as_mut().unwrap().2.push_str(&content);
            }
            Event::Start(Tag::Heading { level, .. }) => {
                heading = Some((heading_level(level), String::new()));
            }
            Event::End(TagEnd::Heading(_)) => {
                parsed.headings.extend(heading.take());
            }
            Event::Text(content) | Event::Code(content) if heading.is_some() => {
                heading.as_mut().unwrap().1.push_str(&content);
            }
            Event::Code(span) => {
                let line = line_of(text, range.start);
                let span = span.trim();
                if span != "cargo xtask" && span != "just" {
                    line_commands(path, line, span, &mut parsed);
                }
            }
            Event::Start(Tag::Link { dest_url, .. } | Tag::Image { dest_url, .. }) => {
                parsed
                    .links
                    .push((dest_url.to_string(), line_of(text, range.start)));
            }
            _ => {}
        }
    }
    parsed
}

fn heading_level(level: HeadingLevel) -> u8 {
    match level {
        HeadingLevel::H1 => 1,
        HeadingLevel::H2 => 2,
        HeadingLevel::H3 => 3,
        HeadingLevel::H4 => 4,
        HeadingLevel::H5 => 5,
        HeadingLevel::H6 => 6,
    }
}

/// The command lines of a fenced block, by its language.
fn block_commands(path: &str, language: &str, first: usize, body: &str, parsed: &mut Parsed) {
    match language {
        "" | "sh" | "bash" | "shell" | "zsh" | "console" => {
            let console = language == "console";
            let mut pending = String::new();
            let mut start = first;
            for (index, raw) in body.lines().enumerate() {
                let number = first + index;
                let mut line = raw.trim_end();
                if pending.is_empty() {
                    start = number;
                    let prompt = strip_prompt(line);
                    match prompt {
                        Some(rest) => line = rest,
                        // Output in a console block.
                        None if console => continue,
                        None => {}
                    }
                }
                if let Some(continued) = line.strip_suffix('\\') {
                    pending.push_str(continued);
                    pending.push(' ');
                    continue;
                }
                pending.push_str(line);
                line_commands(path, start, pending.trim(), parsed);
                pending.clear();
            }
        }
        "yaml" | "yml" => {
            let lines: Vec<&str> = body.lines().collect();
            let mut index = 0;
            while index < lines.len() {
                let line = lines[index];
                let trimmed = line.trim_start().trim_start_matches("- ");
                if let Some(run) = trimmed.strip_prefix("run:") {
                    let run = run.trim();
                    if run == "|" || run == ">" {
                        let indent = line.len() - line.trim_start().len();
                        index += 1;
                        while index < lines.len()
                            && (lines[index].trim().is_empty()
                                || lines[index].len() - lines[index].trim_start().len() > indent)
                        {
                            line_commands(path, first + index, lines[index].trim(), parsed);
                            index += 1;
                        }
                        continue;
                    }
                    line_commands(path, first + index, run, parsed);
                }
                index += 1;
            }
        }
        _ => {}
    }
}

/// `$ cmd`, `mac$ cmd`: the command; `None` when the line has no prompt.
fn strip_prompt(line: &str) -> Option<&str> {
    let (before, after) = line.split_once("$ ")?;
    (!before.contains(char::is_whitespace)).then_some(after.trim_start())
}

/// The commands of one command line.
fn line_commands(path: &str, line: usize, text: &str, parsed: &mut Parsed) {
    let place = format!("{path}:{line}");
    let text = strip_comment(text).trim();
    let mentions_a_tool =
        text.contains("cargo xtask") || text.split_whitespace().any(|word| word == "just");
    if !mentions_a_tool {
        return;
    }
    let Some(words) = shlex::split(text) else {
        parsed.problems.push(format!(
            "{place}: cannot split `{text}` like a shell (quotes?)"
        ));
        return;
    };
    for command in words.split(|word| ["&&", "||", ";", "|"].contains(&word.as_str())) {
        if let Some((tool, rest)) = command_of(command) {
            match substitute(tool, rest) {
                Ok(words) => parsed.commands.push(Found {
                    tool,
                    words,
                    place: place.clone(),
                    written: text.to_owned(),
                }),
                Err(problem) => parsed
                    .problems
                    .push(format!("{place}: `{text}`: {problem}")),
            }
        }
    }
}

/// The line without a trailing `# comment` (a `#` that starts a word, outside quotes).
fn strip_comment(text: &str) -> &str {
    let mut quote = None;
    let mut previous = ' ';
    for (index, c) in text.char_indices() {
        match quote {
            Some(q) if c == q => quote = None,
            None if c == '\'' || c == '"' => quote = Some(c),
            None if c == '#' && previous.is_whitespace() => return &text[..index],
            Some(_) | None => {}
        }
        previous = c;
    }
    text
}

/// `cargo xtask …` or `just …` in a simple command, after assignments and wrappers.
fn command_of(words: &[String]) -> Option<(Tool, &[String])> {
    let mut rest = words;
    loop {
        match rest {
            [first, tail @ ..] if is_assignment(first) => rest = tail,
            [dagger, run, tail @ ..] if dagger == "dagger" && run == "run" => rest = tail,
            [wrapper, tail @ ..] if wrapper == "env" || wrapper == "time" => rest = tail,
            _ => break,
        }
    }
    if let [just, tail @ ..] = rest
        && just == "just"
    {
        return Some((Tool::Just, tail));
    }
    let at = rest
        .windows(2)
        .position(|pair| pair[0] == "cargo" && pair[1] == "xtask")?;
    Some((Tool::Xtask, &rest[at + 2..]))
}

fn is_assignment(word: &str) -> bool {
    word.split_once('=').is_some_and(|(name, _)| {
        !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
    })
}

/// The words with every placeholder replaced by its sample value.
fn substitute(tool: Tool, words: &[String]) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    for (index, word) in words.iter().enumerate() {
        if word == "…" || word == "..." {
            if index == 0 {
                out.push(
                    match tool {
                        Tool::Xtask => placeholder("command"),
                        Tool::Just => placeholder("recipe"),
                    }
                    .unwrap()
                    .to_owned(),
                );
            }
            continue;
        }
        let replaced = replace_placeholders(word)?;
        // A placeholder for "no arguments" leaves nothing behind.
        if !replaced.is_empty() || word.is_empty() {
            out.push(replaced);
        }
    }
    Ok(out)
}

fn replace_placeholders(word: &str) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = word;
    while let Some(c) = rest.chars().next() {
        if c == '<'
            && let Some(end) = rest.find('>')
        {
            let name = &rest[1..end];
            out.push_str(placeholder(name).ok_or_else(|| {
                format!(
                    "unknown placeholder `<{name}>`; add it to PLACEHOLDERS in xtask/tests/docs.rs"
                )
            })?);
            rest = &rest[end + 1..];
        } else if c == '$' && rest.len() > 1 {
            let braced = rest[1..].starts_with('{');
            let start = if braced { 2 } else { 1 };
            let length = rest[start..]
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(rest.len() - start);
            let name = &rest[start..start + length];
            out.push_str(placeholder(name).ok_or_else(|| {
                format!("unknown variable `${name}`; add it to PLACEHOLDERS in xtask/tests/docs.rs")
            })?);
            rest = &rest[start + length + usize::from(braced)..];
        } else {
            out.push(c);
            rest = &rest[c.len_utf8()..];
        }
    }
    // clap's value names, as whole words.
    if word.chars().all(|c| c.is_ascii_uppercase() || c == '_')
        && let Some(value) = placeholder(word)
    {
        return Ok(value.to_owned());
    }
    Ok(out)
}

/// The repository's justfile, as the pinned just sees it.
struct Justfile {
    root: PathBuf,
    just: PathBuf,
    targets: Vec<String>,
}

impl Justfile {
    fn open() -> Justfile {
        let root = common::workspace_root();
        let just = common::just_program();
        let output = Command::new(&just)
            .arg("--justfile")
            .arg(root.join("justfile"))
            .args(["--evaluate", flags::TARGETS_VARIABLE])
            .output()
            .unwrap();
        assert!(output.status.success(), "{output:?}");
        let targets = String::from_utf8(output.stdout)
            .unwrap()
            .split_whitespace()
            .map(str::to_owned)
            .collect();
        Justfile {
            root,
            just,
            targets,
        }
    }

    /// `just --dry-run --no-deps <words>`: an error with just's message when it refuses them.
    fn dry_run(&self, words: &[String]) -> Result<(), String> {
        let output = Command::new(&self.just)
            .arg("--justfile")
            .arg(self.root.join("justfile"))
            .arg("--working-directory")
            .arg(&self.root)
            .args(["--dry-run", "--no-deps"])
            .args(
                words
                    .iter()
                    .filter(|word| !["--dry-run", "-n", "--no-deps"].contains(&word.as_str())),
            )
            .env("NO_COLOR", "1")
            .output()
            .unwrap();
        if output.status.success() {
            Ok(())
        } else {
            Err(String::from_utf8_lossy(&output.stderr)
                .lines()
                .next()
                .unwrap_or_default()
                .to_owned())
        }
    }
}

/// Why `found` is not a command a reader can run, if it is not.
fn check(found: &Found, justfile: &Justfile) -> Result<(), String> {
    match found.tool {
        Tool::Just => justfile.dry_run(&found.words),
        Tool::Xtask => {
            let argv = std::iter::once("cargo xtask".to_owned()).chain(found.words.iter().cloned());
            let flags = match Xtask::try_parse_from(argv) {
                Ok(flags) => flags,
                // `--help` and `--version` are commands a reader can run.
                Err(error)
                    if matches!(
                        error.kind(),
                        clap::error::ErrorKind::DisplayHelp
                            | clap::error::ErrorKind::DisplayVersion
                    ) =>
                {
                    return Ok(());
                }
                Err(error) => {
                    return Err(error
                        .to_string()
                        .lines()
                        .next()
                        .unwrap_or_default()
                        .to_owned());
                }
            };
            let targets = |targets: &flags::Targets| -> Result<(), String> {
                match targets
                    .targets
                    .iter()
                    .find(|t| !justfile.targets.contains(t))
                {
                    Some(unknown) => Err(format!("unknown target `{unknown}`")),
                    None => Ok(()),
                }
            };
            match flags.command {
                flags::Command::Run(run) => {
                    let mut words = vec![run.recipe];
                    words.extend(run.arguments);
                    justfile.dry_run(&words)
                }
                flags::Command::Plan(plan) => match plan.recipe {
                    Some(recipe) => {
                        let mut words = vec![recipe];
                        words.extend(plan.arguments);
                        justfile.dry_run(&words)
                    }
                    None => Ok(()),
                },
                flags::Command::Build(build) => targets(&build.targets),
                flags::Command::VerifyParity(parity) => targets(&parity.targets),
                _ => Ok(()),
            }
        }
    }
}

/// Every command of every document, with what is wrong with each one that is wrong.
fn command_problems(docs: &[Doc], justfile: &Justfile) -> (usize, Vec<String>) {
    let mut problems = Vec::new();
    let mut n_commands = 0;
    for doc in docs {
        let parsed = parse(&doc.path, &doc.text);
        problems.extend(parsed.problems);
        for found in &parsed.commands {
            n_commands += 1;
            if std::env::var_os("DOCS_LIST_COMMANDS").is_some() {
                eprintln!("{}: {:?} {:?}", found.place, found.tool, found.words);
            }
            if let Err(problem) = check(found, justfile) {
                problems.push(format!("{}: `{}`: {problem}", found.place, found.written));
            }
        }
    }
    (n_commands, problems)
}

#[test]
fn every_command_in_the_docs_runs() {
    let docs = documents();
    let justfile = Justfile::open();
    let (n_commands, problems) = command_problems(&docs, &justfile);
    assert!(
        problems.is_empty(),
        "commands in the docs that a reader could not run:\n{}",
        problems.join("\n")
    );
    // The extractor finds them: the README alone shows more than ten.
    assert!(n_commands > 100, "only {n_commands} commands found");
}

/// GitHub's anchor for a heading: lowercase, punctuation dropped, spaces to `-`.
fn slug(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
            _ => None,
        })
        .collect()
}

/// Every anchor of a document, with GitHub's `-1`, `-2` for repeated headings.
fn anchors(parsed: &Parsed) -> BTreeSet<String> {
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let mut anchors = BTreeSet::new();
    for (_, heading) in &parsed.headings {
        let base = slug(heading);
        let count = seen.entry(base.clone()).or_default();
        anchors.insert(if *count == 0 {
            base.clone()
        } else {
            format!("{base}-{count}")
        });
        *count += 1;
    }
    anchors
}

/// Links that lead nowhere: a missing file, or an anchor that is no heading of its document.
fn link_problems(docs: &[Doc], root: &Path) -> Vec<String> {
    let parsed: BTreeMap<&str, Parsed> = docs
        .iter()
        .map(|doc| (doc.path.as_str(), parse(&doc.path, &doc.text)))
        .collect();
    let mut problems = Vec::new();
    for doc in docs {
        let directory = Path::new(&doc.path).parent().unwrap_or(Path::new(""));
        for (destination, line) in &parsed[doc.path.as_str()].links {
            if ["http://", "https://", "mailto:"]
                .iter()
                .any(|scheme| destination.starts_with(scheme))
            {
                continue;
            }
            let place = format!("{}:{line}", doc.path);
            let (file, anchor) = match destination.split_once('#') {
                Some((file, anchor)) => (file, Some(anchor)),
                None => (destination.as_str(), None),
            };
            let target = if file.is_empty() {
                PathBuf::from(&doc.path)
            } else {
                normalise(&directory.join(file))
            };
            if !root.join(&target).exists() {
                problems.push(format!(
                    "{place}: `{destination}`: no file `{}`",
                    target.display()
                ));
                continue;
            }
            // `#` alone is the top of the document.
            let Some(anchor) = anchor.filter(|anchor| !anchor.is_empty()) else {
                continue;
            };
            let other;
            let target_parsed =
                if let Some(parsed) = parsed.get(target.to_str().unwrap_or_default()) {
                    parsed
                } else {
                    let text = std::fs::read_to_string(root.join(&target)).unwrap_or_default();
                    other = parse(&target.display().to_string(), &text);
                    &other
                };
            if !anchors(target_parsed).contains(anchor) {
                problems.push(format!(
                    "{place}: `{destination}`: `{}` has no heading with the anchor `#{anchor}`",
                    target.display()
                ));
            }
        }
    }
    problems
}

/// `docs/../README.md` → `README.md`.
fn normalise(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

#[test]
fn every_link_between_the_docs_resolves() {
    let docs = documents();
    let problems = link_problems(&docs, &common::workspace_root());
    assert!(
        problems.is_empty(),
        "broken links:\n{}",
        problems.join("\n")
    );
}

/// The entries of the troubleshooting guide: its `###` headings, as anchors.
fn troubleshooting_entries(text: &str) -> Vec<String> {
    parse("docs/troubleshooting.md", text)
        .headings
        .iter()
        .filter(|(level, _)| *level == 3)
        .map(|(_, heading)| slug(heading))
        .collect()
}

fn entry_problems(text: &str) -> Vec<String> {
    let entries = troubleshooting_entries(text);
    let mut problems = Vec::new();
    for topic in Topic::ALL {
        if !entries.iter().any(|entry| entry == topic.slug()) {
            problems.push(format!(
                "Topic::{topic:?} points to `#{}`, which is no `###` entry of docs/troubleshooting.md",
                topic.slug()
            ));
        }
    }
    for entry in &entries {
        if !Topic::ALL.iter().any(|topic| topic.slug() == entry) {
            problems.push(format!(
                "the entry `#{entry}` of docs/troubleshooting.md has no Topic in xtask/src/troubleshooting.rs; no error can point to it"
            ));
        }
    }
    problems
}

#[test]
fn every_topic_has_its_entry_and_every_entry_its_topic() {
    let text =
        std::fs::read_to_string(common::workspace_root().join("docs/troubleshooting.md")).unwrap();
    let problems = entry_problems(&text);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    // Each entry says what you see, why, and what to do.
    for section in text.split("\n### ").skip(1) {
        let name = section.lines().next().unwrap_or_default();
        for part in ["**Symptom**", "**Cause**", "**Fix**"] {
            assert!(
                section.contains(part),
                "the entry `{name}` of docs/troubleshooting.md has no {part}"
            );
        }
    }
}

/// The `thiserror` types of the crate's sources: `(file, type)`.
fn thiserror_types(src: &Path) -> Vec<(String, String)> {
    let mut types = Vec::new();
    for entry in walkdir::WalkDir::new(src).sort_by_file_name() {
        let entry = entry.unwrap();
        if entry.path().extension().is_none_or(|ext| ext != "rs") {
            continue;
        }
        let text = std::fs::read_to_string(entry.path()).unwrap();
        let imports_error = text.contains("use thiserror::Error") || text.contains("thiserror::{");
        let mut rest = text.as_str();
        while let Some(start) = rest.find("#[derive(") {
            rest = &rest[start + "#[derive(".len()..];
            let Some(end) = rest.find(")]") else { break };
            let derives = &rest[..end];
            rest = &rest[end..];
            let is_error = derives
                .split([',', ' ', '\n'])
                .any(|word| word == "thiserror::Error" || (imports_error && word == "Error"));
            if !is_error {
                continue;
            }
            // The type the attribute sits on: the next `enum` or `struct`.
            let name = rest
                .split(|c: char| c.is_whitespace() || c == '{' || c == '(' || c == ';' || c == '<')
                .skip_while(|word| *word != "enum" && *word != "struct")
                .nth(1);
            if let Some(name) = name {
                let file = entry
                    .path()
                    .strip_prefix(src)
                    .unwrap()
                    .display()
                    .to_string();
                types.push((file, name.to_owned()));
            }
        }
    }
    types
}

/// The types `troubleshooting::topic_of_error` looks up.
fn troubleshot_types(troubleshooting: &str) -> BTreeSet<String> {
    let start = troubleshooting
        .find("troubleshooting_types!(")
        .expect("the list of types in troubleshooting.rs");
    let list = &troubleshooting[start..];
    let list = &list[list.find('(').unwrap() + 1..list.find(')').unwrap()];
    list.split(',')
        .map(str::trim)
        .filter(|word| !word.is_empty() && *word != "error")
        .map(str::to_owned)
        .collect()
}

/// `Exit` carries its own optional topic, read by `troubleshooting::help` directly.
const NOT_LISTED: &[&str] = &["Exit"];

#[test]
fn every_error_type_points_to_an_entry() {
    let src = common::workspace_root().join("xtask/src");
    let types = thiserror_types(&src);
    assert!(
        types.len() >= 10,
        "the scan finds the error types: {types:?}"
    );
    let troubleshooting = std::fs::read_to_string(src.join("troubleshooting.rs")).unwrap();
    let listed = troubleshot_types(&troubleshooting);
    let missing: Vec<String> = types
        .iter()
        .filter(|(_, name)| !listed.contains(name) && !NOT_LISTED.contains(&name.as_str()))
        .map(|(file, name)| format!("`{name}` (xtask/src/{file})"))
        .collect();
    assert!(
        missing.is_empty(),
        "error types with no entry in docs/troubleshooting.md: {}\nimplement `Troubleshoot` for each (xtask/src/troubleshooting.rs, one arm per variant, no `_`) and add it to `troubleshooting_types!`",
        missing.join(", ")
    );
    // The impls map every variant by name: a catch-all arm would let a new variant through.
    for block in troubleshooting.split("impl Troubleshoot for ").skip(1) {
        let body = &block[..block.find("\n}\n").unwrap_or(block.len())];
        assert!(
            !body.contains(" _ =>"),
            "`impl Troubleshoot for {}` has a `_` arm",
            body.split_whitespace().next().unwrap_or_default()
        );
    }
}

// The checks above can fail: each is fed a broken document here.

fn doc(path: &str, text: &str) -> Doc {
    Doc {
        path: path.to_owned(),
        text: text.to_owned(),
    }
}

#[test]
fn a_broken_command_fails_the_check() {
    let justfile = Justfile::open();
    let broken = doc(
        "docs/broken.md",
        "Run `cargo xtask bulid` or `just tset`.\n\n\
         ```sh\n$ cargo xtask build --target linux-x86   # a typo\n\
         just build \\\n  linux-x86\nOTEL_X=1 cargo xtask ci --runner podman\n```\n\n\
         ```console\n$ just build\nerror: not a command, output\n```\n\n\
         ```yaml\n- run: cargo xtask test --runner dagger --fast\n```\n\n\
         `cargo xtask plan <recipe> <nonsense>`\n",
    );
    let (n_commands, problems) = command_problems(&[broken], &justfile);
    let text = problems.join("\n");
    for expected in [
        "docs/broken.md:1: `cargo xtask bulid`",
        "docs/broken.md:1: `just tset`",
        "docs/broken.md:4: `cargo xtask build --target linux-x86`: unknown target `linux-x86`",
        "docs/broken.md:5: `just build    linux-x86`",
        "docs/broken.md:7: `OTEL_X=1 cargo xtask ci --runner podman`",
        "docs/broken.md:11: `just build`",
        "docs/broken.md:16: `cargo xtask test --runner dagger --fast`",
        "unknown placeholder `<nonsense>`",
    ] {
        assert!(text.contains(expected), "missing `{expected}` in:\n{text}");
    }
    assert_eq!(n_commands, 7, "{text}");
    assert_eq!(problems.len(), 8, "{text}");
    // And the same commands, written right, pass.
    let fixed = doc(
        "docs/fixed.md",
        "Run `cargo xtask build` or `just test`; `cargo xtask` and `just` are tools.\n\n\
         ```sh\n$ cargo xtask build --target linux-x64   # a comment\n\
         just build \\\n  <target>\ndagger run cargo xtask … --runner local\n```\n\n\
         ```yaml\n- run: cargo xtask build --target \"$TARGET\" --runner dagger\n```\n",
    );
    let (n_commands, problems) = command_problems(&[fixed], &justfile);
    assert!(problems.is_empty(), "{problems:?}");
    assert_eq!(n_commands, 6);
}

#[test]
fn a_broken_link_fails_the_check() {
    let root = common::workspace_root();
    let docs = [
        doc(
            "docs/a.md",
            "# A\n\n## Set-up, on `macOS`\n\n[b](b.md#the-end) [missing](nowhere.md) \
             [bad anchor](b.md#nothing) [self](#set-up-on-macos) [self, wrong](#setup) \
             [readme](../README.md) [out](https://example.com/x.md)\n",
        ),
        doc("docs/b.md", "# B\n\n## The end\n"),
    ];
    // The two documents exist only here: resolve files among them and the repository.
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("docs")).unwrap();
    for doc in &docs {
        std::fs::write(dir.path().join(&doc.path), &doc.text).unwrap();
    }
    std::fs::copy(root.join("README.md"), dir.path().join("README.md")).unwrap();
    let problems = link_problems(&docs, dir.path());
    assert_eq!(problems.len(), 3, "{problems:#?}");
    assert!(problems[0].contains("`nowhere.md`: no file `docs/nowhere.md`"));
    assert!(problems[1].contains("`b.md#nothing`"));
    assert!(problems[2].contains("`#setup`"));
}

#[test]
fn a_missing_or_orphan_entry_fails_the_check() {
    let text =
        std::fs::read_to_string(common::workspace_root().join("docs/troubleshooting.md")).unwrap();
    let without = text.replacen("### Engine not found\n", "### Engine not there\n", 1);
    assert_ne!(without, text, "the guide has the entry `Engine not found`");
    let problems = entry_problems(&without).join("\n");
    assert!(
        problems.contains("Topic::EngineNotFound points to `#engine-not-found`"),
        "{problems}"
    );
    assert!(
        problems.contains("the entry `#engine-not-there`"),
        "{problems}"
    );
}

#[test]
fn a_new_error_type_without_an_entry_fails_the_check() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("new.rs"),
        "/// Something new.\n#[derive(Debug, thiserror::Error)]\n#[error(\"x\")]\npub enum NewError {\n    X,\n}\n\n\
         use thiserror::Error;\n#[derive(\n    Debug,\n    Error,\n)]\n#[error(\"y\")]\npub(crate) struct Other<T>(T);\n\n#[derive(Debug, Clone)]\npub struct NotAnError;\n",
    )
    .unwrap();
    let types = thiserror_types(dir.path());
    assert_eq!(
        types,
        [
            ("new.rs".to_owned(), "NewError".to_owned()),
            ("new.rs".to_owned(), "Other".to_owned())
        ]
    );
    let listed = troubleshot_types("troubleshooting_types!(\n    error,\n    PlanError,\n);");
    assert!(!listed.contains("NewError") && listed.contains("PlanError"));
}

#[test]
fn slugs_are_githubs() {
    assert_eq!(
        slug("Slow source upload on macOS"),
        "slow-source-upload-on-macos"
    );
    assert_eq!(slug("`gen-ci` refuses a recipe"), "gen-ci-refuses-a-recipe");
    assert_eq!(
        slug("Set-up on a fresh machine"),
        "set-up-on-a-fresh-machine"
    );
    assert_eq!(slug("CI=true, and no engine!"), "citrue-and-no-engine");
    assert_eq!(slug("ci.yml: the jobs"), "ciyml-the-jobs");
}
