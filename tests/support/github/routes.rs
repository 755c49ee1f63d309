//! The fake's REST routes: pulls (open, list by head, read with
//! `mergeable` null first, update, merge for real), reviews, issues
//! (labels, comments, `closed_by`), commit statuses and check runs, branch
//! deletion, deployments and their statuses, team memberships.

use super::{Deployment, Pr, State, bare_git, merged_tree, message, reply, sha_of};
use axum::http::{Method, StatusCode};
use serde_json::{Value, json};
use std::collections::HashMap;

/// An open PR's head follows its branch, as on GitHub (a push or a
/// force-push moves it); `mergeable` is then unknown again for one read.
pub(super) fn follow_head(s: &mut State, n: u64) {
    let Some(pr) = s.prs.get(&n).filter(|p| p.open) else {
        return;
    };
    let Some(now) = sha_of(&s.repo, &format!("refs/heads/{}", pr.head)) else {
        return;
    };
    let pr = s.prs.get_mut(&n).unwrap();
    if pr.head_sha != now {
        pr.head_sha = now;
        pr.reads = 0;
    }
}

fn pr_json(s: &State, pr: &Pr, mergeable: Value) -> Value {
    let (o, r) = (&s.owner, &s.name);
    let n = pr.number;
    let side = |name: &str, sha: &str| {
        json!({ "label": format!("{o}:{name}"), "ref": name, "sha": sha,
                "user": { "login": o }, "repo": { "name": r, "full_name": format!("{o}/{r}") } })
    };
    let base_sha = sha_of(&s.repo, &pr.base).unwrap_or_default();
    json!({
        "url": format!("https://api.github.com/repos/{o}/{r}/pulls/{n}"),
        "id": 1000 + n, "node_id": format!("PR_{n}"),
        "html_url": format!("https://github.com/{o}/{r}/pull/{n}"),
        "number": n,
        "state": if pr.open { "open" } else { "closed" },
        "locked": false, "title": pr.title, "body": pr.body,
        "user": { "login": "hoist-bot", "id": 7, "type": "Bot" },
        "labels": pr.labels.iter().map(|l| json!({ "name": l, "color": "ededed" })).collect::<Vec<_>>(),
        "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z",
        "closed_at": if pr.open { Value::Null } else { json!("2026-01-01T00:00:00Z") },
        "merged_at": if pr.merged_sha.is_some() { json!("2026-01-01T00:00:00Z") } else { Value::Null },
        "merge_commit_sha": pr.merged_sha,
        "head": side(&pr.head, &pr.head_sha),
        "base": side(&pr.base, &base_sha),
        "draft": false,
        "merged": pr.merged_sha.is_some(),
        "mergeable": mergeable,
        "mergeable_state": if pr.protected { "blocked" } else if mergeable == json!(true) { "clean" } else { "unknown" },
        "merged_by": pr.merged_by.as_ref().map(|l| json!({ "login": l })),
        "comments": pr.comments.len(), "review_comments": 0, "commits": 1,
    })
}

/// The page `page` of `per_page` (GitHub's defaults: 1 and 30; at most
/// 100 a page).
fn page_of<T>(
    query: &HashMap<String, String>,
    all: impl Iterator<Item = T>,
) -> impl Iterator<Item = T> {
    let per: usize = query
        .get("per_page")
        .and_then(|p| p.parse().ok())
        .unwrap_or(30)
        .min(100);
    let page: usize = query
        .get("page")
        .and_then(|p| p.parse().ok())
        .unwrap_or(1)
        .max(1);
    all.skip((page - 1) * per).take(per)
}

pub(super) fn route(
    s: &mut State,
    method: &Method,
    path: &str,
    query: &HashMap<String, String>,
    args: &Value,
) -> (StatusCode, Value) {
    if let Some(rest) = path.strip_prefix("/orgs/") {
        let parts: Vec<&str> = rest.split('/').collect();
        if let [org, "teams", slug, "memberships", login] = parts[..] {
            let member = s
                .teams
                .get(&format!("{org}/{slug}"))
                .is_some_and(|m| m.iter().any(|l| l == login));
            return if member {
                reply(
                    StatusCode::OK,
                    json!({ "url": "", "role": "member", "state": "active" }),
                )
            } else {
                message(StatusCode::NOT_FOUND, "Not Found")
            };
        }
    }
    let prefix = format!("/repos/{}/{}/", s.owner, s.name);
    let Some(rest) = path.strip_prefix(&prefix) else {
        return message(StatusCode::NOT_FOUND, "Not Found");
    };
    let parts: Vec<&str> = rest.split('/').collect();
    let number = |p: &str| p.parse::<u64>().ok();
    match (method.as_str(), &parts[..]) {
        ("POST", ["pulls"]) => open(s, args),
        ("GET", ["pulls"]) => {
            let head = query.get("head").cloned().unwrap_or_default();
            let base = query.get("base").filter(|_| !s.list_any_base);
            let list: Vec<Value> = s
                .prs
                .values()
                .filter(|p| p.open && format!("{}:{}", s.owner, p.head) == head)
                .filter(|p| base.is_none_or(|b| *b == p.base))
                .map(|p| pr_json(s, p, Value::Null))
                .collect();
            reply(StatusCode::OK, json!(list))
        }
        ("GET", ["pulls", n]) => match number(n)
            .inspect(|n| follow_head(s, *n))
            .and_then(|n| s.prs.get_mut(&n))
        {
            Some(pr) => {
                pr.reads += 1;
                let pr = pr.clone();
                let mergeable = if pr.reads == 1 || !pr.open {
                    Value::Null
                } else {
                    json!(merged_tree(&s.repo, &pr.base, &pr.head_sha).is_some())
                };
                reply(StatusCode::OK, pr_json(s, &pr, mergeable))
            }
            None => message(StatusCode::NOT_FOUND, "Not Found"),
        },
        ("PATCH", ["pulls", n]) => match number(n).and_then(|n| s.prs.get_mut(&n)) {
            Some(pr) => {
                if let Some(b) = args["body"].as_str() {
                    pr.body = b.into();
                }
                if args["state"] == "closed" {
                    pr.open = false;
                    pr.closed_by = Some("hoist-bot".into());
                }
                let pr = pr.clone();
                reply(StatusCode::OK, pr_json(s, &pr, Value::Null))
            }
            None => message(StatusCode::NOT_FOUND, "Not Found"),
        },
        ("PUT", ["pulls", n, "merge"]) => match number(n)
            .filter(|n| s.prs.contains_key(n))
            .inspect(|n| follow_head(s, *n))
        {
            Some(n) => {
                let sha = args["sha"].as_str().unwrap_or("").to_string();
                let how = args["merge_method"].as_str().unwrap_or("merge").to_string();
                let title = args["commit_title"].as_str().unwrap_or("").to_string();
                let text = args["commit_message"].as_str().unwrap_or("").to_string();
                merge(s, n, &sha, &how, &title, &text)
            }
            None => message(StatusCode::NOT_FOUND, "Not Found"),
        },
        ("GET", ["pulls", n, "reviews"]) => {
            let all = number(n)
                .and_then(|n| s.reviews.get(&n))
                .cloned()
                .unwrap_or_default();
            let list: Vec<Value> = page_of(query, all.into_iter()).collect();
            reply(StatusCode::OK, json!(list))
        }
        ("GET", ["issues", n]) => match number(n).and_then(|n| s.prs.get(&n)) {
            Some(pr) => reply(
                StatusCode::OK,
                json!({ "number": pr.number, "state": if pr.open { "open" } else { "closed" },
                        "closed_by": pr.closed_by.as_ref().map(|l| json!({ "login": l })) }),
            ),
            None => message(StatusCode::NOT_FOUND, "Not Found"),
        },
        ("POST", ["issues", n, what]) => match number(n).and_then(|n| s.prs.get_mut(&n)) {
            Some(_) if *what == "labels" && s.refuse_labels => message(
                StatusCode::UNPROCESSABLE_ENTITY,
                "Validation Failed\nlabel \u{202e}env:prod does not exist",
            ),
            Some(pr) if *what == "labels" => {
                for l in args["labels"].as_array().into_iter().flatten() {
                    pr.labels.push(l.as_str().unwrap_or("").into());
                }
                let labels: Vec<Value> = pr.labels.iter().map(|l| json!({ "name": l })).collect();
                reply(StatusCode::OK, json!(labels))
            }
            Some(pr) if *what == "comments" => {
                pr.comments.push(args["body"].as_str().unwrap_or("").into());
                reply(
                    StatusCode::CREATED,
                    json!({ "id": pr.comments.len(), "body": args["body"] }),
                )
            }
            _ => message(StatusCode::NOT_FOUND, "Not Found"),
        },
        ("GET", ["commits", sha, "status"]) => {
            let list = s.statuses.get(*sha).cloned().unwrap_or_default();
            let statuses: Vec<Value> = page_of(query, list.iter())
                .map(|(c, st)| {
                    json!({ "id": 1, "node_id": "SC_1", "url": "", "avatar_url": null,
                    "context": c, "state": st, "description": null, "target_url": null,
                    "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z" })
                })
                .collect();
            let state = if list.iter().any(|(_, st)| st == "failure" || st == "error") {
                "failure"
            } else if list.iter().any(|(_, st)| st == "pending") || list.is_empty() {
                "pending"
            } else {
                "success"
            };
            reply(
                StatusCode::OK,
                json!({ "state": state, "sha": sha, "total_count": list.len(), "statuses": statuses,
                        "url": "", "commit_url": "", "repository": { "name": "config" } }),
            )
        }
        ("GET", ["commits", sha, "check-runs"]) => {
            let all = s.checks.get(*sha).cloned().unwrap_or_default();
            let total = all.len();
            let runs: Vec<Value> = page_of(query, all.into_iter().enumerate())
                .map(|(i, (name, status, conclusion))| {
                    json!({ "id": i, "node_id": format!("CR_{i}"), "head_sha": sha,
                            "name": name, "status": status, "conclusion": conclusion,
                            "url": "", "html_url": "", "details_url": null, "external_id": "",
                            "started_at": "2026-01-01T00:00:00Z", "completed_at": null,
                            "output": { "title": null, "summary": null, "text": null,
                                        "annotations_count": 0, "annotations_url": "" },
                            "check_suite": { "id": 1 }, "pull_requests": [],
                            "app": { "slug": "ci" } })
                })
                .collect();
            reply(
                StatusCode::OK,
                json!({ "total_count": total, "check_runs": runs }),
            )
        }
        ("DELETE", ["git", "refs", "heads", ..]) => {
            let branch = parts[3..].join("/");
            let (ok, _) = bare_git(
                &s.repo,
                &["update-ref", "-d", &format!("refs/heads/{branch}")],
            );
            if ok && sha_of(&s.repo, &format!("refs/heads/{branch}")).is_none() {
                (StatusCode::NO_CONTENT, Value::Null)
            } else {
                message(StatusCode::UNPROCESSABLE_ENTITY, "Reference does not exist")
            }
        }
        ("POST", ["deployments"]) => {
            let id = s.deployments.len() as u64 + 500;
            s.deployments.push(Deployment {
                id,
                sha: args["ref"].as_str().unwrap_or("").into(),
                environment: args["environment"].as_str().unwrap_or("").into(),
                description: args["description"].as_str().unwrap_or("").into(),
                statuses: Vec::new(),
            });
            reply(
                StatusCode::CREATED,
                json!({ "id": id, "sha": args["ref"], "ref": args["ref"], "task": "deploy",
                        "environment": args["environment"], "description": args["description"] }),
            )
        }
        ("POST", ["deployments", id, "statuses"]) => {
            let d = s.deployments.iter_mut().find(|d| Some(d.id) == number(id));
            match d {
                Some(d) => {
                    let st = args["state"].as_str().unwrap_or("").to_string();
                    d.statuses.push((
                        st.clone(),
                        args["description"].as_str().unwrap_or("").into(),
                    ));
                    reply(
                        StatusCode::CREATED,
                        json!({ "id": d.statuses.len(), "state": st }),
                    )
                }
                None => message(StatusCode::NOT_FOUND, "Not Found"),
            }
        }
        _ => message(StatusCode::NOT_FOUND, "Not Found"),
    }
}

fn open(s: &mut State, args: &Value) -> (StatusCode, Value) {
    let head = args["head"].as_str().unwrap_or("").to_string();
    let base = args["base"].as_str().unwrap_or("").to_string();
    if s.prs
        .values()
        .any(|p| p.open && p.head == head && p.base == base)
    {
        return reply(
            StatusCode::UNPROCESSABLE_ENTITY,
            json!({ "message": "Validation Failed", "errors": [{ "resource": "PullRequest",
                    "code": "custom", "message": format!("A pull request already exists for {}:{head}.", s.owner) }] }),
        );
    }
    let (Some(head_sha), Some(_)) = (
        sha_of(&s.repo, &format!("refs/heads/{head}")),
        sha_of(&s.repo, &format!("refs/heads/{base}")),
    ) else {
        return message(StatusCode::UNPROCESSABLE_ENTITY, "Validation Failed");
    };
    let number = s.next_number;
    s.next_number += 1;
    let pr = Pr {
        number,
        title: args["title"].as_str().unwrap_or("").into(),
        body: args["body"].as_str().unwrap_or("").into(),
        head,
        base,
        head_sha,
        open: true,
        merged_sha: None,
        merged_by: None,
        closed_by: None,
        labels: Vec::new(),
        comments: Vec::new(),
        reads: 0,
        blocked: None,
        protected: false,
    };
    s.prs.insert(number, pr.clone());
    reply(StatusCode::CREATED, pr_json(s, &pr, Value::Null))
}

pub(super) fn merge(
    s: &mut State,
    n: u64,
    sha: &str,
    how: &str,
    title: &str,
    text: &str,
) -> (StatusCode, Value) {
    let pr = s.prs[&n].clone();
    if let Some(why) = &pr.blocked {
        return message(StatusCode::METHOD_NOT_ALLOWED, why);
    }
    if !pr.open {
        return message(
            StatusCode::METHOD_NOT_ALLOWED,
            "Pull Request is not mergeable",
        );
    }
    if sha != pr.head_sha {
        return message(
            StatusCode::CONFLICT,
            "Head branch was modified. Review and try the merge again.",
        );
    }
    let repo = s.repo.clone();
    let Some(old) = sha_of(&repo, &format!("refs/heads/{}", pr.base)) else {
        return message(StatusCode::METHOD_NOT_ALLOWED, "Base branch is gone");
    };
    let Some(tree) = merged_tree(&repo, &old, &pr.head_sha) else {
        return message(
            StatusCode::METHOD_NOT_ALLOWED,
            "Pull Request is not mergeable",
        );
    };
    let msg = if text.is_empty() {
        title.to_string()
    } else {
        format!("{title}\n\n{text}")
    };
    let mut args = vec!["commit-tree", tree.as_str(), "-p", old.as_str()];
    if how == "merge" {
        args.extend(["-p", pr.head_sha.as_str()]);
    }
    args.extend(["-m", msg.as_str()]);
    let (ok, new) = bare_git(&repo, &args);
    assert!(ok, "commit-tree");
    let (ok, _) = bare_git(
        &repo,
        &["update-ref", &format!("refs/heads/{}", pr.base), &new, &old],
    );
    if !ok {
        return message(
            StatusCode::CONFLICT,
            "Base branch was modified. Review and try the merge again.",
        );
    }
    let p = s.prs.get_mut(&n).unwrap();
    p.open = false;
    p.merged_sha = Some(new.clone());
    p.merged_by = Some("hoist-bot".into());
    reply(
        StatusCode::OK,
        json!({ "sha": new, "merged": true, "message": "Pull Request successfully merged" }),
    )
}
