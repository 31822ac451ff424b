//! A webhook receiver on loopback for the end-to-end tests and the benchmark: axum on a thread
//! of its own, checking each delivery's signature with the webhook's secret and recording it;
//! told to accept, refuse (`503`) or hang.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use fieldcrm_server::webhooks::signature;
use serde_json::Value;

/// What the receiver does with the next requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Accept,
    /// `503` to every request.
    Fail,
    /// Never answers.
    Hang,
}

/// One request the receiver got.
#[derive(Debug, Clone)]
pub struct Received {
    pub event_id: String,
    pub signature_ok: bool,
    pub event: Value,
    /// Unix ms at arrival.
    pub received_at: i64,
}

pub struct Shared {
    pub secret: Mutex<String>,
    mode: Mutex<Mode>,
    /// Requests answered `503` before the mode applies.
    pub fail_next: AtomicU32,
    /// Requests held unanswered.
    pub hanging: AtomicUsize,
    /// Every request, in arrival order.
    requests: Mutex<Vec<Received>>,
    /// The requests answered `200`, in arrival order.
    accepted: Mutex<Vec<Received>>,
}

/// An HTTP receiver on 127.0.0.1 (axum on a thread of its own), stopped when dropped.
pub struct Receiver {
    pub addr: SocketAddr,
    pub shared: Arc<Shared>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

async fn receive(
    axum::extract::State(shared): axum::extract::State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> StatusCode {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let timestamp: i64 = header(signature::TIMESTAMP_HEADER).parse().unwrap_or(-1);
    let secret = shared.secret.lock().unwrap().clone();
    let received = Received {
        received_at: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64),
        event_id: header(signature::EVENT_ID_HEADER),
        signature_ok: signature::verify(
            &secret,
            timestamp,
            &body,
            &header(signature::SIGNATURE_HEADER),
        ),
        event: serde_json::from_slice(&body).unwrap_or(Value::Null),
    };
    shared.requests.lock().unwrap().push(received.clone());
    if shared
        .fail_next
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok()
    {
        return StatusCode::SERVICE_UNAVAILABLE;
    }
    let mode = *shared.mode.lock().unwrap();
    match mode {
        Mode::Accept => {
            shared.accepted.lock().unwrap().push(received);
            StatusCode::OK
        }
        Mode::Fail => StatusCode::SERVICE_UNAVAILABLE,
        Mode::Hang => {
            shared.hanging.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(Duration::from_secs(3_600)).await;
            StatusCode::OK
        }
    }
}

impl Receiver {
    pub fn start() -> Receiver {
        let shared = Arc::new(Shared {
            secret: Mutex::new(String::new()),
            mode: Mutex::new(Mode::Accept),
            fail_next: AtomicU32::new(0),
            hanging: AtomicUsize::new(0),
            requests: Mutex::default(),
            accepted: Mutex::default(),
        });
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let state = shared.clone();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                addr_tx.send(listener.local_addr().unwrap()).unwrap();
                let router = axum::Router::new()
                    .route("/hook", axum::routing::post(receive))
                    .with_state(state);
                axum::serve(listener, router)
                    .with_graceful_shutdown(async {
                        let _ = stopped.await;
                    })
                    .await
                    .unwrap();
            });
        });
        Receiver {
            addr: addr_rx.recv().unwrap(),
            shared,
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}/hook", self.addr)
    }

    pub fn set_mode(&self, mode: Mode) {
        *self.shared.mode.lock().unwrap() = mode;
    }

    pub fn accepted(&self) -> Vec<Received> {
        self.shared.accepted.lock().unwrap().clone()
    }

    pub fn requests(&self) -> Vec<Received> {
        self.shared.requests.lock().unwrap().clone()
    }

    /// The sequence numbers accepted, in arrival order.
    pub fn accepted_seqs(&self) -> Vec<i64> {
        self.accepted()
            .iter()
            .map(|r| r.event["seq"].as_i64().unwrap())
            .collect()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        // A hanging request keeps the graceful shutdown waiting: the thread is left to end
        // with the test process then.
        if *self.shared.mode.lock().unwrap() != Mode::Hang
            && let Some(thread) = self.thread.take()
        {
            let _ = thread.join();
        }
    }
}
