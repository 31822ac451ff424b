//! Random offline work, random sync orders and dropped responses across three devices (a property test): every device converges and nothing acknowledged is lost.

use super::*;

// ---------------------------------------------------------------------------------------------
// 3. Random offline work, sync orders and dropped responses
// ---------------------------------------------------------------------------------------------

/// Performs every request, but drops the response of those its plan says to drop: the server
/// did the work, the device never hears of it.
struct DroppingTransport {
    inner: HttpTransport,
    /// One entry per request, consumed in order; `true` drops the response. Empty: keep all.
    plan: RefCell<Vec<bool>>,
    dropped: Cell<usize>,
}

impl DroppingTransport {
    fn call(
        &self,
        request: impl FnOnce() -> Result<Vec<u8>, TransportError>,
    ) -> Result<Vec<u8>, TransportError> {
        let response = request()?;
        let drop = {
            let mut plan = self.plan.borrow_mut();
            if plan.is_empty() {
                false
            } else {
                plan.remove(0)
            }
        };
        if drop {
            self.dropped.set(self.dropped.get() + 1);
            return Err(TransportError::Offline("response lost".into()));
        }
        Ok(response)
    }
}

impl Transport for DroppingTransport {
    fn push(&self, body: Vec<u8>) -> Result<Vec<u8>, TransportError> {
        self.call(|| self.inner.push(body))
    }

    fn pull(&self, body: Vec<u8>) -> Result<Vec<u8>, TransportError> {
        self.call(|| self.inner.pull(body))
    }

    fn upload_pings(&self, body: Vec<u8>) -> Result<Vec<u8>, TransportError> {
        self.call(|| self.inner.upload_pings(body))
    }

    fn refetch(&self, body: Vec<u8>) -> Result<Vec<u8>, TransportError> {
        self.call(|| self.inner.refetch(body))
    }

    fn analytics(&self, query: &str) -> Result<Vec<u8>, TransportError> {
        self.inner.analytics(query)
    }
}

/// Devices: 0 = rep ana, 1 = rep ben (both harbour), 2 = manager maya.
const DEVICES: usize = 3;
const MANAGER: usize = 2;

#[derive(Debug, Clone)]
enum Op {
    /// A new customer in harbour.
    Create { dev: usize },
    /// Sets the device's own custom field of one of its customers (a value to check at the end).
    Edit { dev: usize, pick: usize, value: u8 },
    /// Rewrites a customer's notes (all devices write the same text: merged, not checked).
    Note { dev: usize, pick: usize, value: u8 },
    /// A rep plans a visit at one of its customers.
    Visit { rep: usize, pick: usize },
    /// A rep writes the notes of one of its own visits.
    VisitNote { rep: usize, pick: usize, value: u8 },
    /// A sync round; `drops[i]` drops the response of the round's i-th request.
    Sync { dev: usize, drops: Vec<bool> },
}

fn op() -> impl Strategy<Value = Op> {
    let dev = 0..DEVICES;
    let rep = 0..MANAGER;
    prop_oneof![
        2 => dev.clone().prop_map(|dev| Op::Create { dev }),
        3 => (dev.clone(), any::<usize>(), any::<u8>())
            .prop_map(|(dev, pick, value)| Op::Edit { dev, pick, value }),
        1 => (dev.clone(), any::<usize>(), any::<u8>())
            .prop_map(|(dev, pick, value)| Op::Note { dev, pick, value }),
        1 => (rep.clone(), any::<usize>()).prop_map(|(rep, pick)| Op::Visit { rep, pick }),
        1 => (rep, any::<usize>(), any::<u8>())
            .prop_map(|(rep, pick, value)| Op::VisitNote { rep, pick, value }),
        3 => (dev, proptest::collection::vec(proptest::bool::weighted(0.3), 0..4))
            .prop_map(|(dev, drops)| Op::Sync { dev, drops }),
    ]
}

/// What the test expects at the end of a case.
#[derive(Default)]
struct Expected {
    /// (customer id, device) -> the last value the device wrote to its own field.
    fields: BTreeMap<(String, usize), String>,
    /// Visit id -> (rep device, the last notes written).
    visits: BTreeMap<String, (usize, String)>,
}

const FIELD_KEYS: [&str; DEVICES] = ["by_ana", "by_ben", "by_maya"];

/// The case's customers present on a device, by id.
fn case_customers(device: &Device, prefix: &str) -> Vec<Customer> {
    device
        .customers()
        .into_values()
        .filter(|c| c.name.starts_with(prefix))
        .collect()
}

fn run_case(
    base: &str,
    accounts: &[Account; DEVICES],
    case: usize,
    ops: &[Op],
    dropped: &AtomicUsize,
) -> Result<(), TestCaseError> {
    let prefix = format!("case{case:03} ");
    let devices: Vec<Device> = accounts.iter().map(|a| device(base, a)).collect();
    let mut expected = Expected::default();
    let mut created = 0;
    for op in ops {
        match op {
            Op::Create { dev } => {
                devices[*dev]
                    .store
                    .create(customer(&format!("{prefix}{dev}-{created}")))
                    .unwrap();
                created += 1;
            }
            Op::Edit { dev, pick, value } => {
                let customers = case_customers(&devices[*dev], &prefix);
                if customers.is_empty() {
                    continue;
                }
                let mut c = customers[pick % customers.len()].clone();
                let value = format!("v{value}");
                c.custom_fields
                    .insert(FIELD_KEYS[*dev].into(), value.clone());
                devices[*dev].store.update(c.clone()).unwrap();
                expected.fields.insert((c.meta.id, *dev), value);
            }
            Op::Note { dev, pick, value } => {
                let customers = case_customers(&devices[*dev], &prefix);
                if customers.is_empty() {
                    continue;
                }
                let mut c = customers[pick % customers.len()].clone();
                c.notes = format!("note {value} from device {dev}");
                devices[*dev].store.update(c).unwrap();
            }
            Op::Visit { rep, pick } => {
                let customers = case_customers(&devices[*rep], &prefix);
                if customers.is_empty() {
                    continue;
                }
                let at = &customers[pick % customers.len()];
                let mut visit = Visit::new(&at.meta.id, &accounts[*rep].user_id);
                visit.planned_start = Some(NOW);
                let visit = devices[*rep].store.create(visit).unwrap();
                expected.visits.insert(visit.meta.id, (*rep, String::new()));
            }
            Op::VisitNote { rep, pick, value } => {
                let own: Vec<String> = expected
                    .visits
                    .iter()
                    .filter(|(_, (by, _))| by == rep)
                    .map(|(id, _)| id.clone())
                    .collect();
                if own.is_empty() {
                    continue;
                }
                let id = &own[pick % own.len()];
                let mut visit: Visit = devices[*rep].store.get(id).unwrap().unwrap();
                visit.notes = format!("visit note {value}");
                devices[*rep].store.update(visit.clone()).unwrap();
                expected.visits.insert(id.clone(), (*rep, visit.notes));
            }
            Op::Sync { dev, drops } => {
                let device = &devices[*dev];
                let transport = DroppingTransport {
                    inner: device.transport(base),
                    plan: RefCell::new(drops.clone()),
                    dropped: Cell::new(0),
                };
                // One attempt per request: a dropped response fails the round, and the device
                // must retry in a later one.
                let result = device.try_sync(&transport, &no_retry());
                let lost = transport.dropped.get();
                dropped.fetch_add(lost, Ordering::Relaxed);
                prop_assert!(
                    result.is_ok() || lost > 0,
                    "a sync failed without a dropped response: {result:?}"
                );
            }
        }
    }

    // Everyone syncs, without losses, until nothing is pending anywhere; then once more so
    // every device has pulled the last pushes.
    let mut rounds = 0;
    loop {
        for device in &devices {
            let report = device.try_sync(&device.transport(base), &RetryPolicy::default());
            prop_assert!(report.is_ok(), "final sync failed: {report:?}");
            prop_assert_eq!(report.unwrap().rejected, 0);
        }
        rounds += 1;
        let pending: u64 = devices
            .iter()
            .map(|d| d.store.sync_status().unwrap().pending_changes)
            .sum();
        if pending == 0 {
            break;
        }
        prop_assert!(rounds < 5, "{} changes still pending", pending);
    }
    for device in &devices {
        device.sync(base);
        device.assert_settled();
    }

    // Identical customers everywhere (this case's and earlier cases').
    let records = devices[0].customers();
    for device in &devices[1..] {
        prop_assert_eq!(&device.customers(), &records);
    }
    let ours = case_customers(&devices[0], &prefix);
    prop_assert_eq!(ours.len(), created);
    for c in &ours {
        for device in &devices[1..] {
            prop_assert_eq!(
                device.store.conflicts(&c.meta.id).unwrap(),
                devices[0].store.conflicts(&c.meta.id).unwrap()
            );
        }
    }
    // Nothing acknowledged is lost: every device's last write of its own field is there.
    for ((id, dev), value) in &expected.fields {
        prop_assert_eq!(
            records[id].custom_fields.get(FIELD_KEYS[*dev]),
            Some(value),
            "device {}'s last edit of {}",
            dev,
            id
        );
    }
    prop_assert_eq!(
        records
            .values()
            .filter(|c| c.name.starts_with(&prefix))
            .map(|c| c.custom_fields.len())
            .sum::<usize>(),
        expected.fields.len(),
        "no field written that the test did not write"
    );
    // Visits: the rep's own and the manager's copy agree; the other rep never sees them.
    for (id, (rep, notes)) in &expected.visits {
        let own: Visit = devices[*rep].store.get(id).unwrap().unwrap();
        prop_assert_eq!(&own.notes, notes);
        let managers: Option<Visit> = devices[MANAGER].store.get(id).unwrap();
        prop_assert_eq!(managers.as_ref(), Some(&own));
        prop_assert!(devices[1 - rep].store.get_any(id).unwrap().is_none());
    }
    Ok(())
}

#[test]
fn random_offline_work_sync_orders_and_dropped_responses_converge() {
    let org = org(&[
        ("ana", "rep", Some("harbour")),
        ("ben", "rep", Some("harbour")),
        ("maya", "manager", None),
    ]);
    // One server for every case: cases tell their customers apart by a name prefix.
    let server = start(&org.db, None);
    let accounts = [
        login(&server.base, "ana"),
        login(&server.base, "ben"),
        login(&server.base, "maya"),
    ];
    let (cases, dropped) = (AtomicUsize::new(0), AtomicUsize::new(0));
    let mut runner = TestRunner::new(Config {
        cases: 12,
        max_shrink_iters: 32,
        failure_persistence: None,
        ..Config::default()
    });
    runner
        .run(&proptest::collection::vec(op(), 5..40), |ops| {
            let case = cases.fetch_add(1, Ordering::Relaxed);
            run_case(&server.base, &accounts, case, &ops, &dropped)
        })
        .unwrap();
    let dropped = dropped.into_inner();
    eprintln!("{} cases, {dropped} responses dropped", cases.into_inner());
    assert!(
        dropped > 0,
        "no response was ever dropped: the test tested nothing"
    );
    // Every case pushed to the same log: it holds each change once, and every sequence number
    // belongs to one change or scope event.
    let log = change_log(&org.db);
    assert_eq!(log.rows as usize, log.hashes.len());
    assert_eq!(log.head, log.rows + log.scope_events, "{log:?}");
}
