//! A local HTTP server that stands in for Slack, PagerDuty or any webhook:
//! it records every POST it takes, and can be "down" (answering 503).
#![allow(dead_code, unreachable_pub)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// One POST as it arrived.
#[derive(Debug, Clone)]
pub struct Delivery {
    /// The request path.
    pub path: String,
    /// The body, parsed.
    pub body: serde_json::Value,
    /// When it arrived.
    pub at: Instant,
}

/// The stand-in notifier.
pub struct Sink {
    /// `http://127.0.0.1:PORT`
    pub base: String,
    deliveries: Arc<Mutex<Vec<Delivery>>>,
    down: Arc<AtomicBool>,
    refused: Arc<AtomicUsize>,
}

fn read_request(stream: &mut TcpStream) -> Option<(String, Vec<u8>)> {
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .ok()?;
    let mut data = Vec::new();
    let mut buf = [0u8; 8192];
    let head_end = loop {
        let n = stream.read(&mut buf).ok()?;
        if n == 0 {
            return None;
        }
        data.extend_from_slice(&buf[..n]);
        if let Some(i) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
    };
    let head = String::from_utf8_lossy(&data[..head_end]).to_string();
    let path = head.split_whitespace().nth(1).unwrap_or("/").to_string();
    let length: usize = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse().ok())
                .flatten()
        })
        .unwrap_or(0);
    while data.len() < head_end + length {
        let n = stream.read(&mut buf).ok()?;
        if n == 0 {
            break;
        }
        data.extend_from_slice(&buf[..n]);
    }
    Some((path, data[head_end..].to_vec()))
}

impl Sink {
    /// Starts listening on a free loopback port.
    pub fn start() -> Sink {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let deliveries: Arc<Mutex<Vec<Delivery>>> = Arc::default();
        let down = Arc::new(AtomicBool::new(false));
        let refused = Arc::new(AtomicUsize::new(0));
        let (d, dn, r) = (
            Arc::clone(&deliveries),
            Arc::clone(&down),
            Arc::clone(&refused),
        );
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let (d, dn, r) = (Arc::clone(&d), Arc::clone(&dn), Arc::clone(&r));
                std::thread::spawn(move || {
                    let Some((path, body)) = read_request(&mut stream) else {
                        return;
                    };
                    let status = if dn.load(Ordering::SeqCst) {
                        r.fetch_add(1, Ordering::SeqCst);
                        "503 Service Unavailable"
                    } else {
                        let body = serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null);
                        d.lock().expect("lock").push(Delivery {
                            path,
                            body,
                            at: Instant::now(),
                        });
                        "200 OK"
                    };
                    let _ = stream.write_all(
                        format!(
                            "HTTP/1.1 {status}\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"
                        )
                        .as_bytes(),
                    );
                });
            }
        });
        Sink {
            base,
            deliveries,
            down,
            refused,
        }
    }

    /// Makes the notifier answer 503 (true) or take posts again (false).
    pub fn set_down(&self, down: bool) {
        self.down.store(down, Ordering::SeqCst);
    }

    /// Posts refused while down.
    pub fn refused(&self) -> usize {
        self.refused.load(Ordering::SeqCst)
    }

    /// Everything taken so far.
    pub fn deliveries(&self) -> Vec<Delivery> {
        self.deliveries.lock().expect("lock").clone()
    }

    /// Waits until `ok` holds for the deliveries taken so far (at most `limit`).
    pub fn wait_until(&self, limit: Duration, ok: impl Fn(&[Delivery]) -> bool) -> Vec<Delivery> {
        let deadline = Instant::now() + limit;
        loop {
            let now = self.deliveries();
            if ok(&now) || Instant::now() > deadline {
                return now;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// One alert of a test post: (alertname, labels, status, startsAt).
pub type TestAlert<'a> = (&'a str, &'a [(&'a str, &'a str)], &'a str, &'a str);

/// An Alertmanager webhook post (version 4) for `alerts`.
pub fn post(group_key: &str, alerts: &[TestAlert<'_>]) -> String {
    let alerts: Vec<serde_json::Value> = alerts
        .iter()
        .map(|(name, labels, status, starts)| {
            let mut l = serde_json::Map::new();
            l.insert("alertname".into(), (*name).into());
            for (k, v) in *labels {
                l.insert((*k).into(), (*v).into());
            }
            serde_json::json!({
                "status": status, "labels": l, "annotations": {},
                "startsAt": starts, "endsAt": "0001-01-01T00:00:00Z",
                "generatorURL": "", "fingerprint": format!("{group_key}-{name}"),
            })
        })
        .collect();
    serde_json::json!({
        "version": "4", "groupKey": group_key, "truncatedAlerts": 0,
        "status": "firing", "receiver": "whyline", "groupLabels": {},
        "commonLabels": {}, "commonAnnotations": {}, "externalURL": "http://127.0.0.1:9093",
        "alerts": alerts,
    })
    .to_string()
}

/// POSTs `body` to `base` + `path` with an optional token: (status, body).
pub fn send(base: &str, path: &str, token: Option<&str>, body: &str) -> (u16, String) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into();
    let mut request = agent
        .post(format!("{base}{path}"))
        .header("Content-Type", "application/json");
    if let Some(t) = token {
        request = request.header("Authorization", format!("Bearer {t}"));
    }
    match request.send(body) {
        Ok(mut r) => (
            r.status().as_u16(),
            r.body_mut().read_to_string().unwrap_or_default(),
        ),
        Err(e) => (0, e.to_string()),
    }
}
