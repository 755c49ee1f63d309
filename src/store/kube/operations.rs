//! Operations as `HoistOperation` objects: the compare-and-swap write every
//! record goes through, ids allocated without collisions across replicas
//! (the next number after the highest seen, taken by creating `op-<n>`,
//! which only one creator can do; another number on 409), reading one, and
//! the indexed queries as label selectors, each answer checked against the
//! query with the same `store::index` rules as the other journals.

use super::KubeJournal;
use super::api::{is_conflict, is_missing, storage};
use super::codec::{decode_operation, operation_object};
use super::objects::{Kind, OPERATIONS, id_of, operation_name};
use crate::engine::Operation;
use crate::engine::ports::JournalError;
use kube::core::DynamicObject;

type Result<T, E = JournalError> = std::result::Result<T, E>;

/// Numbers tried by one `create` before it gives up (each one taken by
/// another replica meanwhile).
const MAX_ID_ATTEMPTS: u64 = 1000;
/// Numbers found taken in a row before the highest id is listed again.
const RELEARN_AFTER: u64 = 4;

impl KubeJournal {
    /// Write `obj` as a compare-and-swap: replace the version this process
    /// last saw, or create it when it saw none. Either failing because the
    /// object changed, exists or went away meanwhile is a `Conflict`, and
    /// the remembered version is forgotten (the caller reads again).
    pub(super) fn write(
        &self,
        kind: Kind,
        obj: DynamicObject,
        what: impl Fn() -> String,
    ) -> Result<()> {
        let name = obj.metadata.name.clone().unwrap_or_default();
        let done = match self.objects.version(&name) {
            Some(rv) => self
                .objects
                .replace(kind, obj, rv)
                .map_err(|e| (is_conflict(&e) || is_missing(&e), e)),
            None => self
                .objects
                .create(kind, obj)
                .map_err(|e| (is_conflict(&e), e)),
        };
        match done {
            Ok(()) => Ok(()),
            Err((true, _)) => {
                self.objects.forget(&name);
                Err(JournalError::Conflict { what: what() })
            }
            Err((false, e)) => Err(storage(e)),
        }
    }

    pub(super) fn put_operation(&self, op: &Operation) -> Result<()> {
        let obj = operation_object(&self.sealer, op)?;
        self.write(OPERATIONS, obj, || format!("operation {}", op.id))?;
        self.saw_id(op.id);
        Ok(())
    }

    /// Give `op` the next free id and create it. On an error `op` keeps
    /// the id it came with.
    pub(super) fn create_operation(&self, op: &mut Operation) -> Result<()> {
        let original = op.id;
        let outcome = self.try_ids(op);
        if outcome.is_err() {
            op.id = original;
        }
        outcome
    }

    fn try_ids(&self, op: &mut Operation) -> Result<()> {
        for attempt in 1..=MAX_ID_ATTEMPTS {
            if attempt % RELEARN_AFTER == 0 {
                // Others created many since this process last looked: learn
                // the highest id again instead of stepping through them.
                *self.highest() = None;
            }
            let id = self.next_id()?;
            op.id = id;
            let obj = match operation_object(&self.sealer, op) {
                Ok(obj) => obj,
                Err(e) => {
                    self.give_back(id);
                    return Err(e);
                }
            };
            match self.objects.create(OPERATIONS, obj) {
                Ok(()) => return Ok(()),
                // Another replica took this number: the next one.
                Err(e) if is_conflict(&e) => continue,
                // Not taken (or taken unseen, by a create that timed out
                // after landing: the next try is then told 409).
                Err(e) => {
                    self.give_back(id);
                    return Err(storage(e));
                }
            }
        }
        Err(JournalError::Storage(
            format!(
                "no free operation id in {MAX_ID_ATTEMPTS} tries in namespace {} (other writers took each one)",
                self.namespace
            )
            .into(),
        ))
    }

    fn highest(&self) -> std::sync::MutexGuard<'_, Option<u64>> {
        self.highest.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The number after the highest seen, taken (learned by listing the
    /// operations the first time). Two threads never get the same one.
    fn next_id(&self) -> Result<u64> {
        let mut highest = self.highest();
        let known = match *highest {
            Some(h) => h,
            None => self
                .objects
                .names(OPERATIONS)
                .map_err(storage)?
                .iter()
                .filter_map(|name| id_of(name))
                .max()
                .unwrap_or(0),
        };
        let id = known
            .checked_add(1)
            .ok_or_else(|| JournalError::Storage("operation ids are used up (u64::MAX)".into()))?;
        *highest = Some(id);
        Ok(id)
    }

    /// `id` was taken but not used: the next create may try it again.
    fn give_back(&self, id: u64) {
        let mut highest = self.highest();
        if *highest == Some(id) {
            *highest = Some(id - 1);
        }
    }

    /// Operation `id` exists: new ids go past it.
    fn saw_id(&self, id: u64) {
        let mut highest = self.highest();
        if let Some(h) = highest.as_mut() {
            *h = (*h).max(id);
        }
    }

    pub(super) fn get_operation(&self, id: u64) -> Result<Option<Operation>> {
        let name = operation_name(id);
        let Some(obj) = self.objects.get(OPERATIONS, &name).map_err(storage)? else {
            return Ok(None);
        };
        let op = decode_operation(&self.sealer, &obj)?;
        self.saw_id(op.id);
        Ok(Some(op))
    }

    /// The operations `selector` selects that `keep` accepts, oldest first.
    /// Every one selected must decode (a damaged or forged object is a
    /// `Corrupt` error, never skipped); a label that says more than the
    /// record (a stale or forged one, a hash collision) is overruled by `keep`.
    pub(super) fn query(
        &self,
        selector: Option<String>,
        keep: impl Fn(&Operation) -> bool,
    ) -> Result<Vec<Operation>> {
        let objects = self
            .objects
            .list(OPERATIONS, selector.as_deref())
            .map_err(storage)?;
        let mut out = Vec::with_capacity(objects.len());
        for obj in &objects {
            let op = decode_operation(&self.sealer, obj)?;
            self.saw_id(op.id);
            if keep(&op) {
                out.push(op);
            }
        }
        out.sort_by_key(|op| op.id);
        Ok(out)
    }
}
