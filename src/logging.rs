//! Logs: `tracing` to stderr, one line per event. `HOIST_LOG` is the filter
//! (`EnvFilter` syntax: `info`, `hoist=debug,warn`; each subcommand passes
//! its default), `HOIST_LOG_FORMAT` the shape: `json` (the default when
//! stderr is not a terminal) or `pretty` (the default when it is); anything
//! else, or a filter that does not parse, is an error before anything runs.
//!
//! A JSON line is one flat object: `timestamp` (RFC 3339, UTC), `level`,
//! `message`, then the fields of every span the event is in (outermost
//! first; an inner span's field wins over an outer one's), then the event's
//! own fields, then `target`. The engine's work on an operation runs in a
//! span `op` with fields `op`, `env` and `app`, so every line of that work
//! carries `"op":7,"env":"prod","app":"api"` and `jq 'select(.op == 7)'` is
//! the operation's story. A field named like one of the fixed keys is kept
//! as `field.NAME`. The pretty format is tracing's one-line text with the
//! span context in front (`op{op=7 env=prod app=api}: hoist::engine: ...`).

use serde_json::Value;
use std::io::{IsTerminal, Write};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Subscriber};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;

/// How log lines look.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// One JSON object per line (see the module docs).
    Json,
    /// tracing's one-line text, coloured on a terminal.
    Pretty,
}

impl Format {
    /// `HOIST_LOG_FORMAT`'s value; unset or empty: JSON unless stderr is a
    /// terminal.
    pub fn parse(value: Option<&str>, terminal: bool) -> Result<Format, String> {
        match value.map(str::trim).filter(|v| !v.is_empty()) {
            None if terminal => Ok(Format::Pretty),
            None => Ok(Format::Json),
            Some(v) if v.eq_ignore_ascii_case("json") => Ok(Format::Json),
            Some(v) if v.eq_ignore_ascii_case("pretty") => Ok(Format::Pretty),
            Some(v) => Err(format!(
                "HOIST_LOG_FORMAT: `{v}` is not a log format; use `json` or `pretty`"
            )),
        }
    }
}

/// `hoist serve`'s filter when `HOIST_LOG` is unset: `info`, but serenity
/// (Discord's gateway) at `warn`. serenity opens INFO spans recording whole
/// gateway events and requests (a gateway-delivered interaction holds its
/// token, a message its author's words), and every line inside a span
/// carries its fields: below `warn` those spans are off, so its warnings
/// come without them.
pub const SERVE_DEFAULT: &str = "info,serenity=warn";

/// `HOIST_LOG`'s value as a filter; unset or empty: `default`.
pub fn filter(value: Option<&str>, default: &str) -> Result<EnvFilter, String> {
    let text = value
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .unwrap_or(default);
    EnvFilter::try_new(text).map_err(|e| format!("HOIST_LOG: `{text}` is not a filter: {e}"))
}

/// What the environment says about logging (read by `cli`).
#[derive(Debug, Clone, Default)]
pub struct Settings {
    /// `HOIST_LOG`: the filter; `None` takes the subcommand's default.
    pub filter: Option<String>,
    /// `HOIST_LOG_FORMAT`: `json` or `pretty`; `None` picks by the terminal.
    pub format: Option<String>,
    /// `NO_COLOR` is set: no colour even on a terminal.
    pub no_color: bool,
}

/// Install the process's logger from `settings`, with `default` as the
/// filter when `HOIST_LOG` is unset.
pub fn init(settings: &Settings, default: &str) -> Result<(), String> {
    let terminal = std::io::stderr().is_terminal();
    let format = Format::parse(settings.format.as_deref(), terminal)?;
    let filter = filter(settings.filter.as_deref(), default)?;
    let registry = tracing_subscriber::registry().with(filter);
    let installed = match format {
        Format::Json => registry.with(JsonLines::new(std::io::stderr)).try_init(),
        Format::Pretty => {
            let colour = terminal && !settings.no_color;
            let text = tracing_subscriber::fmt::layer()
                .with_writer(std::io::stderr)
                .with_ansi(colour);
            registry.with(text).try_init()
        }
    };
    installed.map_err(|e| format!("installing the logger: {e}"))?;
    // Set once: `try_init` above fails on a second call.
    let _ = INSTALLED.set(format);
    Ok(())
}

static INSTALLED: std::sync::OnceLock<Format> = std::sync::OnceLock::new();

/// The format [`init`] installed, if it ran: what else writes to stderr
/// (a start-up summary) can match it instead of breaking a JSON stream.
pub fn installed() -> Option<Format> {
    INSTALLED.get().copied()
}

/// The keys every JSON line has; fields of the same name become `field.NAME`.
const FIXED: [&str; 4] = ["timestamp", "level", "message", "target"];

/// A layer writing each event as one flat JSON object (see the module docs).
#[derive(Debug)]
pub struct JsonLines<W> {
    make_writer: W,
}

impl<W> JsonLines<W> {
    pub fn new(make_writer: W) -> Self {
        JsonLines { make_writer }
    }
}

/// The fields a span was given, kept in the span's extensions.
#[derive(Debug, Default)]
struct SpanFields(Vec<(String, Value)>);

/// Collects fields in order; a later field of the same name replaces the earlier.
struct Collect<'a>(&'a mut Vec<(String, Value)>);

impl Collect<'_> {
    fn put(&mut self, field: &Field, value: Value) {
        put(self.0, field.name().to_string(), value);
    }
}

fn put(fields: &mut Vec<(String, Value)>, key: String, value: Value) {
    match fields.iter_mut().find(|(k, _)| *k == key) {
        Some(slot) => slot.1 = value,
        None => fields.push((key, value)),
    }
}

impl Visit for Collect<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.put(field, Value::String(format!("{value:?}")));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.put(field, Value::String(value.to_string()));
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.put(field, value.into());
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.put(field, value.into());
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.put(field, value.into());
    }
    fn record_f64(&mut self, field: &Field, value: f64) {
        // NaN and infinities are no JSON numbers: they are written as text.
        let number = serde_json::Number::from_f64(value).map(Value::Number);
        self.put(field, number.unwrap_or_else(|| value.to_string().into()));
    }
    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.put(field, Value::String(value.to_string()));
    }
}

impl<S, W> Layer<S> for JsonLines<W>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    W: for<'w> MakeWriter<'w> + 'static,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut fields = SpanFields::default();
        attrs.record(&mut Collect(&mut fields.0));
        span.extensions_mut().insert(fields);
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else { return };
        let mut extensions = span.extensions_mut();
        if let Some(fields) = extensions.get_mut::<SpanFields>() {
            values.record(&mut Collect(&mut fields.0));
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let mut fields = Vec::new();
        if let Some(scope) = ctx.event_scope(event) {
            for span in scope.from_root() {
                if let Some(theirs) = span.extensions().get::<SpanFields>() {
                    for (k, v) in &theirs.0 {
                        put(&mut fields, k.clone(), v.clone());
                    }
                }
            }
        }
        let mut own = Vec::new();
        event.record(&mut Collect(&mut own));
        let mut message = Value::String(String::new());
        for (k, v) in own {
            if k == "message" {
                message = v;
            } else {
                put(&mut fields, k, v);
            }
        }
        let meta = event.metadata();
        let mut line = Vec::with_capacity(256);
        let mut entry = |key: &str, value: &Value| {
            line.push(if line.is_empty() { b'{' } else { b',' });
            // Strings and `Value`s always serialize; a failure would only
            // drop this one entry.
            let _ = serde_json::to_writer(&mut line, key);
            line.push(b':');
            let _ = serde_json::to_writer(&mut line, value);
        };
        entry("timestamp", &jiff::Timestamp::now().to_string().into());
        entry("level", &meta.level().as_str().into());
        entry("message", &message);
        for (k, v) in &fields {
            if FIXED.contains(&k.as_str()) {
                entry(&format!("field.{k}"), v);
            } else {
                entry(k, v);
            }
        }
        entry("target", &meta.target().into());
        line.extend_from_slice(b"}\n");
        // One write per line, so lines from several threads do not interleave.
        let _ = self.make_writer.make_writer().write_all(&line);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};

    /// A writer the test reads back.
    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl Write for Buffer {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    impl<'a> MakeWriter<'a> for Buffer {
        type Writer = Buffer;
        fn make_writer(&'a self) -> Buffer {
            self.clone()
        }
    }

    /// The lines logged by `work` under `filter`: raw, and parsed.
    fn logged(filter: &str, work: impl FnOnce()) -> Vec<(String, serde_json::Map<String, Value>)> {
        let buffer = Buffer::default();
        let subscriber = tracing_subscriber::registry()
            .with(super::filter(Some(filter), "info").unwrap())
            .with(JsonLines::new(buffer.clone()));
        tracing::subscriber::with_default(subscriber, work);
        let text = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
        text.lines()
            .map(|l| match serde_json::from_str(l) {
                Ok(Value::Object(m)) => (l.to_string(), m),
                other => panic!("not a JSON object: {l} ({other:?})"),
            })
            .collect()
    }

    fn lines(filter: &str, work: impl FnOnce()) -> Vec<serde_json::Map<String, Value>> {
        logged(filter, work).into_iter().map(|(_, m)| m).collect()
    }

    #[test]
    fn a_line_is_flat_json_with_every_enclosing_spans_fields_inner_first() {
        let got = logged("info", || {
            let _request = tracing::info_span!("request", actor = "slack:U1", op = 1).entered();
            let _op = tracing::error_span!("op", op = 7, env = "prod", app = "api").entered();
            tracing::info!(sha = "d92bd1e", ok = true, level = "mine", "pushed \"it\"");
        });
        assert_eq!(got.len(), 1, "{got:?}");
        let (raw, line) = &got[0];
        assert!(raw.starts_with(r#"{"timestamp":""#), "{raw}");
        let at = |key: &str| raw.find(&format!("\"{key}\":")).unwrap();
        assert!(
            at("level") < at("message") && at("message") < at("actor"),
            "{raw}"
        );
        assert!(
            raw.ends_with(&format!(r#""target":"{}"}}"#, module_path!())),
            "{raw}"
        );
        assert!(
            raw.contains(r#""op":7,"env":"prod","app":"api""#),
            "greppable: {raw}"
        );
        assert_eq!(line["level"], "INFO");
        assert_eq!(line["message"], "pushed \"it\"");
        assert_eq!(line["op"], 7, "the inner span's op wins");
        assert_eq!(line["env"], "prod");
        assert_eq!(line["app"], "api");
        assert_eq!(line["actor"], "slack:U1");
        assert_eq!(line["sha"], "d92bd1e");
        assert_eq!(line["ok"], true);
        assert_eq!(
            line["field.level"], "mine",
            "a fixed key is never overwritten"
        );
        assert_eq!(line["target"], module_path!());
        let at = line["timestamp"].as_str().unwrap();
        assert!(at.parse::<jiff::Timestamp>().is_ok(), "{at}");
    }

    #[test]
    fn an_error_level_span_gives_its_fields_to_warnings_under_a_warn_filter() {
        let got = lines("warn", || {
            let _op =
                tracing::error_span!("op", op = 3, env = "staging", app = "api,web").entered();
            tracing::info!("not shown");
            tracing::warn!(error = "remote hung up", "push failed");
        });
        assert_eq!(got.len(), 1, "{got:?}");
        assert_eq!(got[0]["op"], 3);
        assert_eq!(got[0]["app"], "api,web");
        assert_eq!(got[0]["error"], "remote hung up");
    }

    #[test]
    fn serves_default_keeps_serenitys_info_spans_and_their_tokens_out() {
        let got = lines(super::SERVE_DEFAULT, || {
            let _dispatch = tracing::info_span!(
                target: "serenity::gateway::shard",
                "handle_gateway_dispatch",
                event = "InteractionCreate { token: \"secret-token\" }"
            )
            .entered();
            tracing::info!(target: "serenity::gateway::shard", "not shown");
            tracing::warn!(target: "serenity::gateway::shard", "Sequence off");
            tracing::info!("hoist's own");
        });
        assert_eq!(got.len(), 2, "{got:?}");
        assert_eq!(got[0]["message"], "Sequence off");
        assert_eq!(got[1]["message"], "hoist's own");
        for line in &got {
            assert!(
                !Value::Object(line.clone())
                    .to_string()
                    .contains("secret-token"),
                "{line:?}"
            );
        }
    }

    #[test]
    fn fields_recorded_later_on_a_span_reach_the_lines_after() {
        let got = lines("info", || {
            let span = tracing::info_span!("request", op = tracing::field::Empty);
            let _in = span.enter();
            tracing::info!("before");
            span.record("op", 9);
            tracing::info!("after");
        });
        assert!(!got[0].contains_key("op"), "{:?}", got[0]);
        assert_eq!(got[1]["op"], 9);
    }

    #[test]
    fn formats_and_filters_are_named_or_refused() {
        assert_eq!(Format::parse(None, false), Ok(Format::Json));
        assert_eq!(Format::parse(Some(""), true), Ok(Format::Pretty));
        assert_eq!(Format::parse(Some("JSON"), true), Ok(Format::Json));
        assert_eq!(Format::parse(Some("pretty"), false), Ok(Format::Pretty));
        let e = Format::parse(Some("xml"), false).unwrap_err();
        assert!(
            e.contains("`xml` is not a log format; use `json` or `pretty`"),
            "{e}"
        );
        assert!(filter(None, "info").is_ok());
        assert!(filter(Some("hoist=debug,warn"), "info").is_ok());
        let e = filter(Some("hoist=loud"), "info").unwrap_err();
        assert!(
            e.starts_with("HOIST_LOG: `hoist=loud` is not a filter"),
            "{e}"
        );
    }
}
