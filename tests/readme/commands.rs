//! The README cannot rot: its `try` transcripts are run and must still come
//! out as shown (commit ids and seconds aside), every `hoist ...` command it
//! shows must still parse with the real command line (and its chat command
//! with the real command language), every `kubectl` path it names must
//! exist and render, and the `cargo` commands it promises are the ones
//! `.ci/run` runs. Commands that need accounts or a cluster (`docker build`,
//! `kubectl apply` against a cluster) are checked for the paths they name.

use clap::Parser;

fn readme() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap()
}

/// Fenced blocks of `lang`: their lines.
fn blocks(text: &str, lang: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    // Inside a block: whether it is of `lang`, and its lines so far.
    let mut inside: Option<(bool, Vec<String>)> = None;
    for line in text.lines() {
        if let Some(tag) = line.strip_prefix("```") {
            match inside.take() {
                Some((true, lines)) => out.push(lines),
                Some((false, _)) => {}
                None => inside = Some((tag.trim() == lang, Vec::new())),
            }
            continue;
        }
        if let Some((_, lines)) = inside.as_mut() {
            lines.push(line.to_string());
        }
    }
    out
}

/// Commit ids and durations vary from run to run.
fn steady(line: &str) -> String {
    line.split_whitespace()
        .map(|w| {
            let core = w.trim_end_matches([',', ')', ':']);
            let sha = core.len() == 7 && core.bytes().all(|b| b.is_ascii_hexdigit());
            let secs = core.ends_with('s')
                && core[..core.len() - 1].bytes().all(|b| b.is_ascii_digit())
                && core.len() > 1;
            if sha {
                w.replacen(core, "SHA", 1)
            } else if secs {
                w.replacen(core, "Ns", 1)
            } else {
                w.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[test]
fn the_readme_try_transcripts_still_come_out_as_shown() {
    let text = readme();
    let mut ran = 0;
    for block in blocks(&text, "text") {
        let Some(first) = block.first() else { continue };
        let Some(rest) = first.strip_prefix("$ printf '") else {
            continue;
        };
        let (input, cmd) = rest.split_once("' | ").expect("printf '...' | command");
        assert_eq!(cmd, "cargo run --release -- try", "{first}");
        let (code, out) = crate::run_try(&input.replace("\\n", "\n"));
        assert_eq!(code, 0, "hoist try exited {code}");
        let shown: Vec<String> = out.lines().map(steady).collect();
        for want in block[1..].iter().filter(|l| !l.trim().is_empty()) {
            assert!(
                shown.contains(&steady(want)),
                "README line {want:?} is not what `hoist try` prints now:\n{out}"
            );
        }
        ran += 1;
    }
    assert!(ran >= 2, "the README's transcripts were not found");
}

/// Shell words of a command line (single and double quotes, no expansion).
fn words(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut word = String::new();
    let mut quote = None;
    let mut any = false;
    for c in line.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => word.push(c),
            (None, '\'' | '"') => {
                quote = Some(c);
                any = true;
            }
            (None, c) if c.is_whitespace() => {
                if any || !word.is_empty() {
                    out.push(std::mem::take(&mut word));
                }
                any = false;
            }
            (None, c) => word.push(c),
        }
    }
    if any || !word.is_empty() {
        out.push(word);
    }
    out
}

/// Every command line the README shows: the lines of `sh` blocks (with
/// `\` continuations joined, comments cut) and inline code spans that start
/// with a command this project documents.
fn command_lines(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for block in blocks(text, "sh") {
        let mut joined = String::new();
        for line in block {
            let line = line.split(" #").next().unwrap_or_default().trim_end();
            if let Some(head) = line.strip_suffix('\\') {
                joined.push_str(head);
                continue;
            }
            joined.push_str(line);
            let done = std::mem::take(&mut joined);
            if !done.trim().is_empty() && !done.trim_start().starts_with('#') {
                out.push(done.trim().to_string());
            }
        }
    }
    for span in text.split('`').skip(1).step_by(2) {
        // `hoist <hoist@localhost>` is a name, not a command.
        let second = span.split_whitespace().nth(1).unwrap_or_default();
        let command = ["hoist ", "kubectl ", "cargo ", "docker "]
            .iter()
            .any(|p| span.starts_with(p))
            && second.starts_with(|c: char| c.is_ascii_lowercase() || c == '-' || c == '.');
        if command {
            out.push(span.to_string());
        }
    }
    out
}

#[test]
fn every_command_the_readme_shows_still_parses_and_names_real_paths() {
    let text = readme();
    let ci = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/.ci/run")).unwrap();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let (mut hoist, mut kubectl) = (0, 0);
    for line in command_lines(&text) {
        // `a && b`, `a > file`: each command on its own, without redirection.
        for cmd in line.split("&&") {
            let cmd = cmd.split(" > ").next().unwrap_or_default().trim();
            let w = words(cmd);
            match w.first().map(String::as_str) {
                Some("hoist") if w.iter().any(|x| x == "...") => {
                    // An elided example (`hoist exec ... -- approve 7`): the
                    // chat command after `--` must still parse.
                    if let Some(at) = w.iter().position(|x| x == "--") {
                        let chat = w[at + 1..].join(" ");
                        hoist_commands::parse(&chat)
                            .unwrap_or_else(|e| panic!("README `{cmd}`: {e}"));
                    }
                }
                Some("hoist") if w.len() == 2 && w[1] != "schema" => {
                    // A mention of a subcommand (`hoist serve`): it exists.
                    let help =
                        hoist::cli::Cli::try_parse_from([w[0].as_str(), w[1].as_str(), "--help"]);
                    let shown_help = help
                        .err()
                        .is_some_and(|e| e.kind() == clap::error::ErrorKind::DisplayHelp);
                    assert!(shown_help, "README `{cmd}`: no such subcommand");
                }
                // A mention of an option (`hoist exec --as`).
                Some("hoist") if w.len() == 3 && w[2].starts_with("--") => {}
                Some("hoist") => {
                    hoist::cli::Cli::try_parse_from(&w)
                        .unwrap_or_else(|e| panic!("README `{cmd}` no longer parses:\n{e}"));
                    if let Some(at) = w.iter().position(|x| x == "--") {
                        let chat = w[at + 1..].join(" ");
                        hoist_commands::parse(&chat)
                            .unwrap_or_else(|e| panic!("README `{cmd}`: {e}"));
                    }
                    hoist += 1;
                }
                Some("kubectl") => {
                    // Paths it names are this repository's and render.
                    for p in w.iter().filter(|x| x.starts_with("deploy/")) {
                        assert!(root.join(p).is_dir(), "README `{cmd}`: no {p}");
                    }
                    kubectl += 1;
                }
                Some("cargo") => {
                    let bare = w.join(" ");
                    let run_by_ci = ci.contains(&bare)
                        || (bare.contains("-- try")
                            && ci.contains("cargo run --release --quiet -- try"))
                        || bare.starts_with("cargo run -- try");
                    assert!(run_by_ci, "README `{cmd}` is not run by .ci/run");
                }
                Some("docker") => {
                    assert!(
                        root.join("Dockerfile").is_file(),
                        "README `{cmd}`: no Dockerfile"
                    );
                }
                _ => {}
            }
        }
    }
    assert!(
        hoist >= 4 && kubectl >= 3,
        "too few commands found: {hoist} hoist, {kubectl} kubectl"
    );
}

#[test]
fn words_split_like_a_shell() {
    assert_eq!(
        words(r#"hoist exec --as 'console:a b' -- deploy "x y" ''"#),
        [
            "hoist",
            "exec",
            "--as",
            "console:a b",
            "--",
            "deploy",
            "x y",
            ""
        ]
    );
}

/// Internal variables: hoist sets them for its own git children.
const INTERNAL: [&str; 2] = ["HOIST_GIT_CREDENTIAL_PROTOCOL", "HOIST_GIT_CREDENTIAL_HOST"];

/// The settings module, where every variable is read (its tests aside).
const SETTINGS: [&str; 5] = [
    "src/cli/settings.rs",
    "src/cli/settings/areas.rs",
    "src/cli/settings/discord.rs",
    "src/cli/settings/github.rs",
    "src/cli/settings/read.rs",
];

#[test]
fn every_setting_the_code_reads_is_in_the_readme() {
    let text = readme();
    let mut files = vec![std::path::PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/src"
    ))];
    let mut names = std::collections::BTreeSet::new();
    while let Some(path) = files.pop() {
        if path.is_dir() {
            files.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
            continue;
        }
        let src = std::fs::read_to_string(&path).unwrap();
        for piece in src.split('"').skip(1).step_by(2) {
            let setting = ["HOIST_", "SLACK_"].iter().any(|p| piece.starts_with(p))
                && piece.len() > 6
                && piece.bytes().all(|b| b.is_ascii_uppercase() || b == b'_');
            if setting && !INTERNAL.contains(&piece) {
                names.insert(piece.to_string());
            }
        }
    }
    // The settings module reads variables of any name (`KUBECONFIG`, `USER`).
    for file in SETTINGS {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(file);
        let src = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{file}: {e}"));
        for piece in src.split('"').skip(1).step_by(2) {
            let variable = piece.len() > 2
                && piece.starts_with(|c: char| c.is_ascii_uppercase())
                && piece.bytes().all(|b| b.is_ascii_uppercase() || b == b'_');
            if variable {
                names.insert(piece.to_string());
            }
        }
    }
    for read in ["KUBECONFIG", "KUBERNETES_SERVICE_HOST", "NO_COLOR", "USER"] {
        assert!(names.contains(read), "{read} is not read in {SETTINGS:?}");
    }
    assert!(names.len() > 20, "{names:?}");
    let missing: Vec<&String> = names
        .iter()
        .filter(|n| !text.contains(&format!("`{n}`")))
        .collect();
    assert!(
        missing.is_empty(),
        "settings the README does not name: {missing:?}"
    );
}
