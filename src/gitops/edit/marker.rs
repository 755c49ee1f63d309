//! Marker lines: in any text file (YAML of any shape, a Dockerfile, HCL, a
//! plain manifest), the line that ends with the comment
//! `# {"$hoist": "NAME"}` holds an image reference, and hoist replaces only
//! its tag and/or digest part (the convention of Flux's `$imagepolicy`
//! setters). Everything else on the line and in the file is left byte for
//! byte, CRLF line ends included. Every line marked with the same name is
//! set, as Flux does for several containers of one app.

use super::{EditError, Edited, splice};
use hoist_commands::Version;
use std::ops::Range;

/// One marked image reference: where it is and its parts.
struct Marked {
    span: Range<usize>,
    /// Everything before the tag (`ghcr.io/acme/api`, `registry:5000/api`).
    repo: String,
    tag: Option<String>,
    digest: Option<String>,
}

impl Marked {
    fn value(&self) -> Option<String> {
        match (&self.tag, &self.digest) {
            (Some(t), Some(d)) => Some(format!("{t}@{d}")),
            (Some(t), None) => Some(t.clone()),
            (None, Some(d)) => Some(d.clone()),
            (None, None) => None,
        }
    }
}

fn marker_re(name: &str) -> regex::Regex {
    regex::Regex::new(&format!(
        r#"#\s*\{{\s*"\$hoist"\s*:\s*"{}"\s*\}}"#,
        regex::escape(name)
    ))
    .expect("an escaped name makes a valid pattern")
}

/// Split `ghcr.io/acme/api:v1@sha256:...` into repo, tag, digest. A `:`
/// before the last `/` is a registry port, not a tag.
fn split_ref(r: &str) -> (String, Option<String>, Option<String>) {
    let (name, digest) = match r.split_once('@') {
        Some((n, d)) => (n, Some(d.to_string())),
        None => (r, None),
    };
    let slash = name.rfind('/').map_or(0, |i| i + 1);
    match name[slash..].rfind(':') {
        Some(i) => (
            name[..slash + i].to_string(),
            Some(name[slash + i + 1..].to_string()),
            digest,
        ),
        None => (name.to_string(), None, digest),
    }
}

fn find(src: &str, name: &str) -> Result<Vec<Marked>, EditError> {
    let re = marker_re(name);
    let mut found = Vec::new();
    let mut at = 0;
    for (n, line) in src.split_inclusive('\n').enumerate() {
        let start = at;
        at += line.len();
        let Some(m) = re.find(line) else { continue };
        // The comment's `#` must start a comment, not sit inside a value.
        let before = &line[..m.start()];
        let trimmed = before.trim_end();
        // After the separator, which may be wider than one byte (U+3000).
        let token_start = trimmed
            .char_indices()
            .rfind(|(_, c)| c.is_whitespace() || *c == '=')
            .map_or(0, |(i, c)| i + c.len_utf8());
        let mut span = token_start..trimmed.len();
        let token = &trimmed[span.clone()];
        let quote = token.chars().next().filter(|c| *c == '"' || *c == '\'');
        if let Some(q) = quote {
            if token.len() < 2 || !token.ends_with(q) {
                return Err(EditError::Unsupported(format!(
                    "line {}: the image reference before the marker has an unclosed quote",
                    n + 1
                )));
            }
            span = span.start + 1..span.end - 1;
        }
        let reference = &trimmed[span.clone()];
        let (repo, tag, digest) = split_ref(reference);
        if repo.is_empty() || (tag.is_none() && digest.is_none()) {
            return Err(EditError::Unsupported(format!(
                "line {}: `{reference}` before the marker is not an image reference with a tag or digest",
                n + 1
            )));
        }
        found.push(Marked {
            span: start + span.start..start + span.end,
            repo,
            tag,
            digest,
        });
    }
    if found.is_empty() {
        return Err(EditError::NotFound(format!(
            "no line carries the marker # {{\"$hoist\": \"{name}\"}}"
        )));
    }
    Ok(found)
}

/// The value on the (first) marked line.
pub fn read_value(src: &str, name: &str) -> Result<Option<String>, EditError> {
    Ok(find(src, name)?.remove(0).value())
}

/// Set every line marked `name` to `version`: a tag replaces the tag (and
/// drops a digest, which would pin the old image); a digest replaces the tag
/// part with `@digest`; `TAG@sha256:...` sets both.
pub fn apply(src: &str, name: &str, version: &Version) -> Result<Edited, EditError> {
    let found = find(src, name)?;
    let old_value = found[0].value();
    let wanted = version.to_string();
    if found
        .iter()
        .all(|m| m.value().as_deref() == Some(wanted.as_str()))
    {
        return Ok(Edited {
            old_value,
            new_text: src.to_string(),
            lines: Vec::new(),
        });
    }
    let replacements = found
        .iter()
        .map(|m| {
            let mut r = m.repo.clone();
            if let Some(tag) = version.tag() {
                r.push(':');
                r.push_str(tag);
            }
            if let Some(digest) = version.digest() {
                r.push('@');
                r.push_str(&digest);
            }
            (m.span.clone(), r)
        })
        .collect();
    Ok(splice(src, replacements, old_value))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const DEPLOYMENT: &str = "\
# api Deployment; the image line is set by hoist
apiVersion: apps/v1
kind: Deployment
metadata:
  name: api   # the public API
spec:
  template:
    spec:
      containers:
        - name: api
          image: ghcr.io/acme/api:v1.4.1 # {\"$hoist\": \"api\"}
        - name: sidecar
          image: ghcr.io/acme/sidecar:2.0.1 # {\"$imagepolicy\": \"flux-system:sidecar\"}
";

    fn v(s: &str) -> Version {
        s.parse().unwrap()
    }

    const D: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn a_marked_manifest_line_changes_only_its_tag() {
        let e = apply(DEPLOYMENT, "api", &v("v1.4.2")).unwrap();
        assert_eq!(e.old_value.as_deref(), Some("v1.4.1"));
        assert_eq!(
            e.new_text,
            DEPLOYMENT.replace("api:v1.4.1 #", "api:v1.4.2 #"),
            "everything but the tag is byte-identical"
        );
        assert_eq!(e.lines.len(), 1);
        assert_eq!(e.lines[0].line, 11);
        assert_eq!(
            read_value(&e.new_text, "api").unwrap().as_deref(),
            Some("v1.4.2")
        );
        // The sidecar's Flux marker is not ours.
        assert!(matches!(
            apply(DEPLOYMENT, "sidecar", &v("3")),
            Err(EditError::NotFound(_))
        ));
    }

    #[test]
    fn registry_ports_quotes_and_other_file_kinds_survive() {
        let docker = "# base image\nFROM registry.internal:5000/acme/base:2024.1 # {\"$hoist\":\"base\"}\nRUN make\n";
        let e = apply(docker, "base", &v("2024.2")).unwrap();
        assert_eq!(e.new_text, docker.replace("base:2024.1", "base:2024.2"));

        let hcl = "resource \"x\" \"y\" {\n  image = \"ghcr.io/acme/api:v1\" # {\"$hoist\": \"api\"}\n}\n";
        let e = apply(hcl, "api", &v("v2")).unwrap();
        assert_eq!(
            e.new_text,
            hcl.replace("api:v1\"", "api:v2\""),
            "quotes stay"
        );

        let single = "image: 'ghcr.io/acme/api:v1' # {\"$hoist\": \"api\"}\n";
        let e = apply(single, "api", &v("v2")).unwrap();
        assert_eq!(
            e.new_text,
            "image: 'ghcr.io/acme/api:v2' # {\"$hoist\": \"api\"}\n"
        );
    }

    #[test]
    fn digests_pin_and_a_new_tag_drops_an_old_pin() {
        let pinned = format!("image: ghcr.io/acme/api:v1@{D} # {{\"$hoist\": \"api\"}}\n");
        assert_eq!(read_value(&pinned, "api").unwrap(), Some(format!("v1@{D}")));
        let e = apply(&pinned, "api", &v("v2")).unwrap();
        assert_eq!(
            e.new_text,
            "image: ghcr.io/acme/api:v2 # {\"$hoist\": \"api\"}\n"
        );
        let e = apply(&pinned, "api", &v(D)).unwrap();
        assert_eq!(
            e.new_text,
            format!("image: ghcr.io/acme/api@{D} # {{\"$hoist\": \"api\"}}\n")
        );
        let plain = "image: ghcr.io/acme/api:v1 # {\"$hoist\": \"api\"}\n";
        let e = apply(plain, "api", &v(&format!("v3@{D}"))).unwrap();
        assert_eq!(
            e.new_text,
            format!("image: ghcr.io/acme/api:v3@{D} # {{\"$hoist\": \"api\"}}\n")
        );
        assert!(
            apply(&e.new_text, "api", &v(&format!("v3@{D}")))
                .unwrap()
                .lines
                .is_empty()
        );
    }

    #[test]
    fn crlf_files_and_several_marked_lines() {
        let src = "a: 1\r\nimage: ghcr.io/acme/api:v1 # {\"$hoist\": \"api\"}\r\ninit: ghcr.io/acme/api:v1 # {\"$hoist\": \"api\"}\r\nb: 2\r\n";
        let e = apply(src, "api", &v("v2")).unwrap();
        assert_eq!(
            e.new_text,
            src.replace(":v1 ", ":v2 "),
            "CRLF kept, both lines set"
        );
        assert_eq!(e.lines.len(), 2);
        assert!(!e.lines[0].new.ends_with('\r'));
    }

    #[test]
    fn unusable_marked_lines_are_refused_with_the_line() {
        let src = "x: 1\nname: api # {\"$hoist\": \"api\"}\n";
        let err = apply(src, "api", &v("v2")).unwrap_err().to_string();
        assert!(
            err.contains("line 2") && err.contains("not an image reference"),
            "{err}"
        );
        let err = apply("x: 1\n", "api", &v("v2")).unwrap_err().to_string();
        assert!(err.contains("no line carries the marker"), "{err}");
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        /// Random surroundings, registries, tags: only the tag bytes change,
        /// and the result reads back as the new version.
        #[test]
        fn only_the_tag_changes(
            head in "[a-z:# \\n]{0,40}",
            key in "[a-z]{1,8}",
            registry in "[a-z]{1,8}(\\.[a-z]{2,3})?(:[0-9]{2,5})?",
            repo in "[a-z][a-z0-9-]{0,10}(/[a-z][a-z0-9-]{0,10}){0,2}",
            old in "[A-Za-z0-9_][A-Za-z0-9._-]{0,15}",
            new in "[A-Za-z0-9_][A-Za-z0-9._-]{0,15}",
            tail in "[a-z: \\n]{0,40}",
            crlf in any::<bool>(),
        ) {
            let nl = if crlf { "\r\n" } else { "\n" };
            let line = format!("{key}: {registry}/{repo}:{old} # {{\"$hoist\": \"app\"}}");
            let src = format!("{head}\n{line}{nl}{tail}");
            let e = apply(&src, "app", &v(&new)).unwrap();
            let start = head.len() + 1 + key.len() + 2 + registry.len() + 1 + repo.len() + 1;
            prop_assert_eq!(&e.new_text[..start], &src[..start]);
            let after = start + old.len();
            prop_assert_eq!(&e.new_text[start + new.len()..], &src[after..]);
            prop_assert_eq!(read_value(&e.new_text, "app").unwrap(), Some(new));
            prop_assert!(e.lines.len() <= 1);
        }
    }
}
