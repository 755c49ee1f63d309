//! Running as more than one replica. Two or more `hoist serve` share one
//! journal kept in the Kubernetes API (`store::kube`) and elect one leader
//! with a `coordination.k8s.io/v1` Lease (`lease`): every replica serves
//! requests (each write is a compare-and-swap, so two replicas never both
//! win the same transition), and only the leader does the singleton work
//! (following rollouts, waiting on pull requests, drift, approval expiry).
//!
//! [`Kube`] is the one connection both use: a kube client on a small tokio
//! runtime of its own, its namespace, and a blocking bridge ([`Kube::run`])
//! so the engine's synchronous ports can call the async client from any
//! thread, each call bounded in time.

pub mod lease;

use std::future::Future;
use std::path::PathBuf;
use std::time::Duration;

/// Where the Kubernetes API is and which namespace hoist's objects live in.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// A kubeconfig file to use instead of the in-cluster config or `KUBECONFIG`.
    pub kubeconfig: Option<PathBuf>,
    /// The namespace (`POD_NAMESPACE`); the kubeconfig's (or the service
    /// account's) when unset.
    pub namespace: Option<String>,
    /// The longest one API call may take (default 10 s).
    pub call_timeout: Option<Duration>,
}

/// Why talking to the Kubernetes API failed.
#[derive(Debug, thiserror::Error)]
pub enum KubeError {
    /// No client could be built (no config, a bad kubeconfig).
    #[error("kubernetes: {doing}")]
    Connect {
        doing: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The API answered with an error status (`code`: 404, 409, 500...).
    #[error("kubernetes: {doing}: {code} {reason}: {message}")]
    Status {
        doing: String,
        code: u16,
        reason: String,
        message: String,
    },
    /// The call did not complete in time.
    #[error("kubernetes: {doing}: no answer within {after:?}")]
    Timeout { doing: String, after: Duration },
    /// The transport or decoding failed.
    #[error("kubernetes: {doing}")]
    Call {
        doing: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

impl KubeError {
    /// The HTTP status the API answered, if it answered one.
    pub fn code(&self) -> Option<u16> {
        match self {
            KubeError::Status { code, .. } => Some(*code),
            _ => None,
        }
    }

    /// A kube client error as ours, saying what was being done.
    pub fn from_kube(doing: impl Into<String>, e: kube::Error) -> KubeError {
        let doing = doing.into();
        match e {
            kube::Error::Api(s) => KubeError::Status {
                doing,
                code: s.code,
                reason: crate::engine::one_line(&s.reason, 64),
                message: crate::engine::one_line(&s.message, 256),
            },
            other => KubeError::Call {
                doing,
                source: Box::new(other),
            },
        }
    }
}

/// A connection to the Kubernetes API for hoist's own objects.
pub struct Kube {
    runtime: tokio::runtime::Runtime,
    client: kube::Client,
    namespace: String,
    call_timeout: Duration,
}

impl std::fmt::Debug for Kube {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Kube")
            .field("namespace", &self.namespace)
            .field("call_timeout", &self.call_timeout)
            .finish()
    }
}

/// The longest one call may take unless `Options::call_timeout` says otherwise.
const CALL_TIMEOUT: Duration = Duration::from_secs(10);

impl Kube {
    /// Connect with `options.kubeconfig`, else the in-cluster config or `KUBECONFIG`.
    pub fn connect(options: &Options) -> Result<Kube, KubeError> {
        let failed = |doing: String| {
            move |e: Box<dyn std::error::Error + Send + Sync>| KubeError::Connect {
                doing,
                source: e,
            }
        };
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("hoist-kube")
            .enable_all()
            .build()
            .map_err(|e| failed("starting the Kubernetes client's runtime".into())(e.into()))?;
        let (client, default_ns) = runtime
            .block_on(client(options.kubeconfig.as_deref()))
            .map_err(|(doing, source)| KubeError::Connect { doing, source })?;
        let namespace = options
            .namespace
            .clone()
            .filter(|n| !n.is_empty())
            .unwrap_or(default_ns);
        if !valid_namespace(&namespace) {
            return Err(KubeError::Connect {
                doing: format!(
                    "namespace {:?} is not a valid name",
                    crate::engine::one_line(&namespace, 80)
                ),
                source: "a namespace is 1 to 63 lowercase letters, digits and '-'".into(),
            });
        }
        Ok(Kube {
            runtime,
            client,
            namespace,
            call_timeout: options.call_timeout.unwrap_or(CALL_TIMEOUT),
        })
    }

    /// The client (cheap to clone), for building `Api`s.
    pub fn client(&self) -> kube::Client {
        self.client.clone()
    }

    /// The namespace hoist's objects live in.
    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// Run `call` on this connection's runtime and wait for it, from any
    /// thread (an engine thread, or a tokio worker of another runtime: it
    /// blocks that thread, never panics). At most the call timeout.
    pub fn run<T, F>(&self, doing: &str, call: F) -> Result<T, KubeError>
    where
        T: Send + 'static,
        F: Future<Output = Result<T, kube::Error>> + Send + 'static,
    {
        let after = self.call_timeout;
        let task = self
            .runtime
            .spawn(async move { tokio::time::timeout(after, call).await });
        match futures::executor::block_on(task) {
            Ok(Ok(Ok(value))) => Ok(value),
            Ok(Ok(Err(e))) => Err(KubeError::from_kube(doing, e)),
            Ok(Err(_)) => Err(KubeError::Timeout {
                doing: doing.into(),
                after,
            }),
            Err(e) => Err(KubeError::Call {
                doing: doing.into(),
                source: Box::new(e),
            }),
        }
    }

    /// Spawn a long-lived task (the lease loop) on this connection's runtime.
    pub fn spawn<F>(&self, task: F) -> tokio::task::JoinHandle<()>
    where
        F: Future<Output = ()> + Send + 'static,
    {
        self.runtime.spawn(task)
    }
}

/// What connecting failed at, and why.
pub type ConnectError = (String, Box<dyn std::error::Error + Send + Sync>);

/// A kube client from `kubeconfig`, else the in-cluster config or
/// `KUBECONFIG`, with the config's default namespace. Shared by hoist's own
/// objects ([`Kube`]) and the cluster watchers (`cluster::live`).
pub async fn client(
    kubeconfig: Option<&std::path::Path>,
) -> Result<(kube::Client, String), ConnectError> {
    let config = match kubeconfig {
        Some(path) => {
            let file = kube::config::Kubeconfig::read_from(path)
                .map_err(|e| (format!("reading {}", path.display()), e.into()))?;
            kube::Config::from_custom_kubeconfig(file, &Default::default())
                .await
                .map_err(|e| (format!("using {}", path.display()), e.into()))?
        }
        None => kube::Config::infer().await.map_err(|e| {
            (
                "no Kubernetes config (in-cluster or KUBECONFIG)".to_string(),
                e.into(),
            )
        })?,
    };
    let ns = config.default_namespace.clone();
    kube::Client::try_from(config)
        .map(|c| (c, ns))
        .map_err(|e| ("building the Kubernetes client".to_string(), e.into()))
}

/// A DNS-1123 label: what a namespace may be called.
pub fn valid_namespace(name: &str) -> bool {
    (1..=63).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !name.starts_with('-')
        && !name.ends_with('-')
}

/// This replica's name for the Lease: `POD_NAME` when set (the downward
/// API), else `hostname-pid`. Bounded and made of name characters.
pub fn identity(pod_name: Option<&str>, hostname: &str, pid: u32) -> String {
    let raw = match pod_name.filter(|p| !p.is_empty()) {
        Some(p) => p.to_string(),
        None => format!("{hostname}-{pid}"),
    };
    let clean: String = raw
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                c
            } else {
                '-'
            }
        })
        .take(128)
        .collect();
    if clean.is_empty() {
        format!("hoist-{pid}")
    } else {
        clean
    }
}
