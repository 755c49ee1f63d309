//! The calls the journal makes to the Kubernetes API, each through
//! [`Kube::run`] (bounded in time, callable from any thread), on
//! `hoist.dev/v1alpha1` objects in the connection's namespace, and the
//! memory of the `resourceVersion` this process last read or wrote for each
//! object: what makes a write a compare-and-swap. Lists are paged (500 a
//! page, a bounded number of pages); a resourceVersion or continue token
//! the API answers is only ever sent back to it, and only when it looks
//! like one (short, printable).

use super::objects::Kind;
use crate::engine::ports::JournalError;
use crate::ha::{Kube, KubeError};
use kube::Api;
use kube::api::{DeleteParams, ListParams, ObjectList, PostParams, Preconditions};
use kube::core::DynamicObject;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

/// Objects per list page.
const PAGE: u32 = 500;
/// Pages one list may take (2.5 million objects): past this, an error.
const MAX_PAGES: usize = 5000;
/// The longest resourceVersion or continue token sent back.
const MAX_TOKEN: usize = 4096;
/// resourceVersions remembered; past this, one is forgotten for each new
/// one (a forgotten one costs one `Conflict` and a re-read, never a wrong write).
const MAX_VERSIONS: usize = 100_000;

/// The API's failure as the journal's: its cause kept (which call, the
/// status the API answered).
pub fn storage(e: KubeError) -> JournalError {
    JournalError::Storage(Box::new(e))
}

/// Is this the API's 409 (AlreadyExists on create, Conflict on update)?
pub fn is_conflict(e: &KubeError) -> bool {
    e.code() == Some(409)
}

/// Is this the API's 404?
pub fn is_missing(e: &KubeError) -> bool {
    e.code() == Some(404)
}

fn token(text: Option<&str>) -> Option<String> {
    text.filter(|t| {
        !t.is_empty() && t.len() <= MAX_TOKEN && t.bytes().all(|b| b.is_ascii_graphic())
    })
    .map(str::to_string)
}

/// hoist's objects in one namespace, with the versions last seen.
pub struct Objects {
    kube: Arc<Kube>,
    /// Object name -> the resourceVersion this process last read or wrote.
    /// Names are unique across kinds (`op-`, `lock-`, `key-`).
    versions: Mutex<HashMap<String, String>>,
}

impl Objects {
    pub fn new(kube: Arc<Kube>) -> Objects {
        Objects {
            kube,
            versions: Mutex::new(HashMap::new()),
        }
    }

    fn versions(&self) -> MutexGuard<'_, HashMap<String, String>> {
        self.versions.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The resourceVersion last seen of `name`.
    pub fn version(&self, name: &str) -> Option<String> {
        self.versions().get(name).cloned()
    }

    /// Remember the version of `obj` as read or written now.
    pub fn saw(&self, obj: &DynamicObject) {
        self.note_version(obj, true);
    }

    /// Remember the version of `obj` as listed: only when none is known.
    /// A list is not the read a change is decided on (a path that changes
    /// an operation reads it with `get` first): were a list to move a known
    /// version forward, a write decided on an older `get` in this process
    /// would pass over another replica's write that the list saw.
    pub fn listed(&self, obj: &DynamicObject) {
        self.note_version(obj, false);
    }

    fn note_version(&self, obj: &DynamicObject, replace: bool) {
        let (Some(name), Some(rv)) = (
            obj.metadata.name.as_deref(),
            token(obj.metadata.resource_version.as_deref()),
        ) else {
            return;
        };
        let mut versions = self.versions();
        if !replace && versions.contains_key(name) {
            return;
        }
        if versions.len() >= MAX_VERSIONS && !versions.contains_key(name) {
            let any = versions.keys().next().cloned();
            if let Some(any) = any {
                versions.remove(&any);
            }
        }
        versions.insert(name.to_string(), rv);
    }

    /// Forget the version of `name` (it changed elsewhere, or is gone).
    pub fn forget(&self, name: &str) {
        self.versions().remove(name);
    }

    fn api(&self, kind: Kind) -> Api<DynamicObject> {
        Api::namespaced_with(self.kube.client(), self.kube.namespace(), &kind.resource())
    }

    fn doing(&self, verb: &str, kind: Kind, name: &str) -> String {
        format!("{verb} {} {}/{name}", kind.plural, self.kube.namespace())
    }

    /// The object `name`, `None` when absent; its version remembered.
    pub fn get(&self, kind: Kind, name: &str) -> Result<Option<DynamicObject>, KubeError> {
        let api = self.api(kind);
        let owned = name.to_string();
        let got = self
            .kube
            .run(&self.doing("reading", kind, name), async move {
                api.get_opt(&owned).await
            })?;
        if let Some(obj) = &got {
            self.saw(obj);
        }
        Ok(got)
    }

    /// Every object of `kind` matching `selector`, page by page; each
    /// version remembered where none was ([`Objects::listed`]).
    pub fn list(
        &self,
        kind: Kind,
        selector: Option<&str>,
    ) -> Result<Vec<DynamicObject>, KubeError> {
        let doing = format!(
            "listing {} in {}{}",
            kind.plural,
            self.kube.namespace(),
            selector.map(|s| format!(" ({s})")).unwrap_or_default()
        );
        let mut out = Vec::new();
        self.pages(
            kind,
            &doing,
            selector,
            |api, params| async move { api.list(&params).await },
            |items| {
                for obj in &items {
                    self.listed(obj);
                }
                out.extend(items);
            },
        )?;
        Ok(out)
    }

    /// The names of every object of `kind`, page by page, reading only
    /// their metadata (the highest operation id is learned from names: a
    /// journal of many large records is not fetched whole for it).
    pub fn names(&self, kind: Kind) -> Result<Vec<String>, KubeError> {
        let doing = format!(
            "listing the names of {} in {}",
            kind.plural,
            self.kube.namespace()
        );
        let mut out = Vec::new();
        self.pages(
            kind,
            &doing,
            None,
            |api, params| async move { api.list_metadata(&params).await },
            |items| out.extend(items.into_iter().filter_map(|o| o.metadata.name)),
        )?;
        Ok(out)
    }

    /// Ask `fetch` for the pages of a list of `kind` (at most [`MAX_PAGES`]
    /// of [`PAGE`]), handing each page's items to `take`.
    fn pages<T, Fut>(
        &self,
        kind: Kind,
        doing: &str,
        selector: Option<&str>,
        fetch: impl Fn(Api<DynamicObject>, ListParams) -> Fut,
        mut take: impl FnMut(Vec<T>),
    ) -> Result<(), KubeError>
    where
        T: Clone + Send + 'static,
        Fut: std::future::Future<Output = Result<ObjectList<T>, kube::Error>> + Send + 'static,
    {
        let mut next: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let params = ListParams {
                label_selector: selector.map(str::to_string),
                limit: Some(PAGE),
                continue_token: next.take(),
                ..ListParams::default()
            };
            let page = self.kube.run(doing, fetch(self.api(kind), params))?;
            take(page.items);
            match token(page.metadata.continue_.as_deref()) {
                Some(more) => next = Some(more),
                None => return Ok(()),
            }
        }
        Err(KubeError::Call {
            doing: doing.to_string(),
            source: format!("more than {MAX_PAGES} pages of {PAGE}").into(),
        })
    }

    /// Create `obj` (409 when it exists); its version remembered.
    pub fn create(&self, kind: Kind, mut obj: DynamicObject) -> Result<(), KubeError> {
        let name = obj.metadata.name.clone().unwrap_or_default();
        obj.metadata.namespace = Some(self.kube.namespace().to_string());
        obj.metadata.resource_version = None;
        let api = self.api(kind);
        let made = self
            .kube
            .run(&self.doing("creating", kind, &name), async move {
                api.create(&PostParams::default(), &obj).await
            })?;
        self.saw(&made);
        Ok(())
    }

    /// Replace `obj` iff the server still has version `rv` of it (409
    /// otherwise, 404 when it is gone); the new version remembered.
    pub fn replace(&self, kind: Kind, mut obj: DynamicObject, rv: String) -> Result<(), KubeError> {
        let name = obj.metadata.name.clone().unwrap_or_default();
        obj.metadata.namespace = Some(self.kube.namespace().to_string());
        obj.metadata.resource_version = Some(rv);
        let api = self.api(kind);
        let owned = name.clone();
        let made = self
            .kube
            .run(&self.doing("updating", kind, &name), async move {
                api.replace(&owned, &PostParams::default(), &obj).await
            })?;
        self.saw(&made);
        Ok(())
    }

    /// Delete `name` iff the server still has version `rv` of it (409
    /// otherwise, 404 when it is gone already); forgotten either way.
    pub fn delete(&self, kind: Kind, name: &str, rv: String) -> Result<(), KubeError> {
        let api = self.api(kind);
        let owned = name.to_string();
        let params = DeleteParams {
            preconditions: Some(Preconditions {
                resource_version: Some(rv),
                uid: None,
            }),
            ..DeleteParams::default()
        };
        let done = self
            .kube
            .run(&self.doing("deleting", kind, name), async move {
                api.delete(&owned, &params).await.map(|_| ())
            });
        self.forget(name);
        done
    }
}
