//! Just enough of the shell's syntax to find where a workflow step publishes: scripts split into
//! simple commands (at newlines, `;`, `&&`, `||`, `|` and `&` outside quotes), each with its words
//! (quotes removed) and its place in the script, so that what runs *before* the publish command
//! can be cut out verbatim. Nothing here runs anything.

/// One simple command of a script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SimpleCommand {
    /// Byte offset of the command's first character in the script.
    pub start: usize,
    /// The words, quotes removed, leading `NAME=value` assignments and wrappers dropped.
    pub words: Vec<String>,
}

/// Splits a script into its simple commands.
pub(crate) fn commands(script: &str) -> Vec<SimpleCommand> {
    let mut out = Vec::new();
    let mut words: Vec<String> = Vec::new();
    let mut word: Option<String> = None;
    let mut start: Option<usize> = None;
    let mut chars = script.char_indices().peekable();
    let finish = |words: &mut Vec<String>, start: &mut Option<usize>, out: &mut Vec<SimpleCommand>| {
        if let Some(begin) = start.take() {
            let words = strip_prefixes(std::mem::take(words));
            if !words.is_empty() {
                out.push(SimpleCommand { start: begin, words });
            }
        }
        words.clear();
    };
    while let Some((index, c)) = chars.next() {
        match c {
            '\\' => {
                match chars.next() {
                    // A line continuation joins the lines.
                    Some((_, '\n')) => {
                        if let Some(w) = word.take() {
                            words.push(w);
                        }
                    }
                    Some((_, escaped)) => {
                        start.get_or_insert(index);
                        word.get_or_insert_with(String::new).push(escaped);
                    }
                    None => {}
                }
            }
            '\'' => {
                start.get_or_insert(index);
                let w = word.get_or_insert_with(String::new);
                for (_, quoted) in chars.by_ref() {
                    if quoted == '\'' {
                        break;
                    }
                    w.push(quoted);
                }
            }
            '"' => {
                start.get_or_insert(index);
                let w = word.get_or_insert_with(String::new);
                while let Some((_, quoted)) = chars.next() {
                    match quoted {
                        '"' => break,
                        '\\' => {
                            if let Some((_, escaped)) = chars.next() {
                                w.push(escaped);
                            }
                        }
                        other => w.push(other),
                    }
                }
            }
            '#' if word.is_none() => {
                // A comment runs to the end of the line.
                while chars.peek().is_some_and(|(_, c)| *c != '\n') {
                    chars.next();
                }
            }
            '\n' | ';' | '&' | '|' => {
                if let Some(w) = word.take() {
                    words.push(w);
                }
                finish(&mut words, &mut start, &mut out);
                if matches!(c, '&' | '|') && chars.peek().is_some_and(|(_, next)| *next == c) {
                    chars.next();
                }
            }
            c if c.is_whitespace() => {
                if let Some(w) = word.take() {
                    words.push(w);
                }
            }
            other => {
                start.get_or_insert(index);
                word.get_or_insert_with(String::new).push(other);
            }
        }
    }
    if let Some(w) = word.take() {
        words.push(w);
    }
    finish(&mut words, &mut start, &mut out);
    out
}

/// Drops `NAME=value` assignments and command wrappers (`sudo`, `exec`, `time`, `env`) from the
/// front of a command, so its first word is the program.
fn strip_prefixes(words: Vec<String>) -> Vec<String> {
    let mut rest = words.as_slice();
    loop {
        match rest.first() {
            Some(first) if is_assignment(first) => rest = &rest[1..],
            Some(first) if matches!(first.as_str(), "sudo" | "exec" | "time" | "env" | "command") => rest = &rest[1..],
            _ => break,
        }
    }
    rest.to_vec()
}

fn is_assignment(word: &str) -> bool {
    word.split_once('=').is_some_and(|(name, _)| {
        !name.is_empty()
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            && !name.starts_with(|c: char| c.is_ascii_digit())
    })
}

fn program(words: &[String]) -> &str {
    let first = words.first().map(String::as_str).unwrap_or_default();
    first.rsplit('/').next().unwrap_or(first)
}

/// What a command does about publishing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Publishing {
    /// It publishes (`npm publish`, `pnpm -r publish`, `yarn npm publish`, `changeset publish`,
    /// `npm exec npm@… -- publish`, `semantic-release`).
    Publishes {
        ignore_scripts: bool,
    },
    /// It runs a package script, which may publish (`npm run release`).
    RunsScript {
        name: String,
    },
    Other,
}

/// yarn's own commands, which `yarn NAME` runs instead of a script called NAME.
const YARN_COMMANDS: &[&str] = &[
    "add",
    "audit",
    "bin",
    "cache",
    "config",
    "constraints",
    "dedupe",
    "dlx",
    "exec",
    "explain",
    "info",
    "init",
    "install",
    "link",
    "node",
    "npm",
    "pack",
    "patch",
    "plugin",
    "rebuild",
    "remove",
    "search",
    "set",
    "stage",
    "unlink",
    "unplug",
    "up",
    "upgrade",
    "version",
    "why",
    "workspace",
    "workspaces",
    "publish",
    "login",
    "logout",
    "global",
    "import",
    "licenses",
    "list",
    "outdated",
    "owner",
    "policies",
    "tag",
    "team",
    "test",
    "check",
    "create",
    "generate-lock-entry",
    "help",
];

pub(crate) fn publishing(words: &[String]) -> Publishing {
    let program = program(words);
    let args: Vec<&str> = words.iter().skip(1).map(String::as_str).collect();
    let ignore_scripts = args.contains(&"--ignore-scripts");
    let publishes = args.contains(&"publish");
    match program {
        "npm" | "npx" | "pnpm" | "pnpx" | "yarn" | "bun" | "bunx" | "changeset" | "lerna" if publishes => {
            Publishing::Publishes { ignore_scripts }
        }
        "semantic-release" => Publishing::Publishes { ignore_scripts },
        "npx" | "pnpx" | "bunx" if args.iter().any(|arg| arg.starts_with("semantic-release")) => {
            Publishing::Publishes { ignore_scripts }
        }
        "npm" | "pnpm" | "bun" | "yarn" => {
            let positional: Vec<&str> = args.iter().copied().filter(|arg| !arg.starts_with('-')).collect();
            match positional.as_slice() {
                ["run" | "run-script" | "rum" | "urn" | "rr", name, ..] => {
                    Publishing::RunsScript { name: name.to_string() }
                }
                // `pnpm NAME` and `yarn NAME` run a script when NAME is not one of their commands.
                [name, ..] if program == "yarn" && !YARN_COMMANDS.contains(name) => {
                    Publishing::RunsScript { name: name.to_string() }
                }
                _ => Publishing::Other,
            }
        }
        _ => Publishing::Other,
    }
}

/// The npm version a command installs globally (`npm install -g npm@9`, `npm i --global npm`).
pub(crate) fn installs_npm(words: &[String]) -> Option<String> {
    if program(words) != "npm" {
        return None;
    }
    let args: Vec<&str> = words.iter().skip(1).map(String::as_str).collect();
    let global = args.iter().any(|arg| matches!(*arg, "-g" | "--global" | "--location=global"));
    let install = args.iter().any(|arg| matches!(*arg, "install" | "i" | "add" | "in" | "isntall"));
    if !(global && install) {
        return None;
    }
    args.iter().find_map(|arg| match *arg {
        "npm" => Some("latest".to_string()),
        _ => arg.strip_prefix("npm@").map(str::to_string),
    })
}

/// The script text before the command that starts at `start`, without the trailing operator that
/// joined them (`&&`, `;`, a newline).
pub(crate) fn before(script: &str, start: usize) -> String {
    let prefix = script.get(..start).unwrap_or(script).trim_end();
    let prefix = prefix
        .strip_suffix("&&")
        .or_else(|| prefix.strip_suffix(';'))
        .or_else(|| prefix.strip_suffix("||"))
        .unwrap_or(prefix);
    prefix.trim_end().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(script: &str) -> Vec<Vec<String>> {
        commands(script).into_iter().map(|command| command.words).collect()
    }

    #[test]
    fn splits_commands_and_removes_quotes() {
        assert_eq!(words("npm ci && npm run build"), [vec!["npm", "ci"], vec!["npm", "run", "build"]]);
        assert_eq!(
            words("echo 'a && b' \"c;d\" # note\nFOO=1 sudo npm \\\n  publish"),
            [vec!["echo", "a && b", "c;d"], vec!["npm", "publish"]]
        );
        assert_eq!(words("a | b || c & d; e"), [vec!["a"], vec!["b"], vec!["c"], vec!["d"], vec!["e"]]);
    }

    #[test]
    fn finds_publishing_commands() {
        let check = |script: &str, expected: Publishing| {
            let all = words(script);
            assert_eq!(publishing(&all[0]), expected, "{script}");
        };
        let publishes = Publishing::Publishes { ignore_scripts: false };
        check("npm publish --provenance --access public", publishes.clone());
        check("npm exec npm@npm/cli#provenance -- publish --provenance", publishes.clone());
        check("pnpm -r publish --no-git-checks", publishes.clone());
        check("yarn npm publish", publishes.clone());
        check("npx changeset publish", publishes.clone());
        check("changeset publish", publishes.clone());
        check("npx semantic-release", publishes.clone());
        check("npm publish --ignore-scripts", Publishing::Publishes { ignore_scripts: true });
        check("npm run release", Publishing::RunsScript { name: "release".into() });
        check("npm run --silent release -- --x", Publishing::RunsScript { name: "release".into() });
        check("yarn release", Publishing::RunsScript { name: "release".into() });
        check("yarn install --frozen-lockfile", Publishing::Other);
        check("npm ci", Publishing::Other);
        check("echo publish", Publishing::Other);
    }

    #[test]
    fn npm_self_installs() {
        let first = |script: &str| installs_npm(&words(script)[0]);
        assert_eq!(first("npm install -g npm@latest").as_deref(), Some("latest"));
        assert_eq!(first("npm i --global npm@9.6.7").as_deref(), Some("9.6.7"));
        assert_eq!(first("npm install -g npm").as_deref(), Some("latest"));
        assert_eq!(first("npm install npm@9"), None);
        assert_eq!(first("npm install -g typescript"), None);
    }

    #[test]
    fn the_text_before_a_command() {
        let script = "npm ci && npm run build && npm publish";
        let publish = commands(script).into_iter().find(|c| c.words[1] == "publish").unwrap();
        assert_eq!(before(script, publish.start), "npm ci && npm run build");
        let script = "npm ci\nnpm run build\nnpm publish\n";
        let publish = commands(script).into_iter().find(|c| c.words[1] == "publish").unwrap();
        assert_eq!(before(script, publish.start), "npm ci\nnpm run build");
        assert_eq!(before("npm publish", 0), "");
    }
}
