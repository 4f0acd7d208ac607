//! A TCP relay between the gateway and Asterisk's HTTP port, so a test can
//! cut the gateway's connections (its ARI events socket among them) the way a
//! network blip or a load balancer would, while Asterisk and the call go on;
//! or hold back Asterisk's answers to `externalMedia` the way a loaded
//! Asterisk does.

use std::{
    io::{Read, Write},
    net::{Shutdown, SocketAddr, TcpListener, TcpStream},
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
    thread,
    time::Duration,
};

/// The request whose answer [`Relay::slow_external_media`] holds back.
const EXTERNAL_MEDIA: &[u8] = b"POST /ari/channels/externalMedia";

pub(crate) struct Relay {
    addr: SocketAddr,
    /// Both ends of every open connection.
    open: Arc<Mutex<Vec<(TcpStream, TcpStream)>>>,
    stop: Arc<AtomicBool>,
    /// While set, new connections are closed at once (ARI unreachable).
    held: Arc<AtomicBool>,
    slow: Arc<Slow>,
}

/// How long answers to `externalMedia` are held back, and how many were.
#[derive(Default)]
struct Slow {
    by: Mutex<Option<Duration>>,
    held: AtomicUsize,
}

impl Relay {
    /// Relays 127.0.0.1:<free port> to `upstream`.
    pub(crate) fn start(upstream: SocketAddr) -> Relay {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let open = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let held = Arc::new(AtomicBool::new(false));
        let slow = Arc::new(Slow::default());
        let (conns, stopped, holding) = (Arc::clone(&open), Arc::clone(&stop), Arc::clone(&held));
        let slowing = Arc::clone(&slow);
        thread::spawn(move || {
            for client in listener.incoming() {
                if stopped.load(Ordering::Relaxed) {
                    break;
                }
                let Ok(client) = client else { continue };
                if holding.load(Ordering::Relaxed) {
                    let _ = client.shutdown(Shutdown::Both);
                    continue;
                }
                let Ok(server) = TcpStream::connect(upstream) else {
                    continue;
                };
                let _ = (client.set_nodelay(true), server.set_nodelay(true));
                let (Ok(c2), Ok(s2)) = (client.try_clone(), server.try_clone()) else {
                    continue;
                };
                conns.lock().unwrap().push((c2, s2));
                // Set by a request whose answer is to be held back (HTTP/1.1:
                // one request at a time on a connection).
                let marked = Arc::new(AtomicBool::new(false));
                pipe(
                    client.try_clone().unwrap(),
                    server.try_clone().unwrap(),
                    Direction::Requests(Arc::clone(&slowing), Arc::clone(&marked)),
                );
                pipe(
                    server,
                    client,
                    Direction::Answers(Arc::clone(&slowing), marked),
                );
            }
        });
        Relay {
            addr,
            open,
            stop,
            held,
            slow,
        }
    }

    /// Cuts every connection and refuses new ones until [`Relay::release`]:
    /// ARI is out of reach for the gateway, Asterisk and the calls go on.
    pub(crate) fn hold(&self) {
        self.held.store(true, Ordering::Relaxed);
        self.cut();
    }

    /// Relays new connections again.
    pub(crate) fn release(&self) {
        self.held.store(false, Ordering::Relaxed);
    }

    /// From now on Asterisk's answer to each `POST /channels/externalMedia`
    /// reaches the gateway `by` late; the request itself goes through at
    /// once, so Asterisk creates the channel meanwhile.
    pub(crate) fn slow_external_media(&self, by: Duration) {
        *self.slow.by.lock().unwrap() = Some(by);
    }

    /// How many answers [`Relay::slow_external_media`] held back.
    pub(crate) fn slowed(&self) -> usize {
        self.slow.held.load(Ordering::Relaxed)
    }

    /// `http://127.0.0.1:PORT`, to give the gateway as its ARI URL.
    pub(crate) fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Cuts every connection open now; new ones are relayed again.
    pub(crate) fn cut(&self) -> usize {
        let conns = std::mem::take(&mut *self.open.lock().unwrap());
        for (a, b) in &conns {
            let _ = a.shutdown(Shutdown::Both);
            let _ = b.shutdown(Shutdown::Both);
        }
        conns.len()
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        self.cut();
        // Wakes the accept loop so it sees `stop`.
        let _ = TcpStream::connect(self.addr);
    }
}

/// Which way a [`pipe`] copies, and what it does to hold answers back.
enum Direction {
    /// Gateway to Asterisk: marks the connection when a request's answer is
    /// to be held back.
    Requests(Arc<Slow>, Arc<AtomicBool>),
    /// Asterisk to gateway: holds back the answer of a marked connection.
    Answers(Arc<Slow>, Arc<AtomicBool>),
}

/// Copies `from` to `to` until either side closes.
fn pipe(mut from: TcpStream, mut to: TcpStream, direction: Direction) {
    thread::spawn(move || {
        let mut buf = [0u8; 16 * 1024];
        loop {
            match from.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    match &direction {
                        // Marked before the request goes on: its answer
                        // cannot come back before.
                        Direction::Requests(slow, marked) => {
                            if slow.by.lock().unwrap().is_some()
                                && buf[..n].starts_with(EXTERNAL_MEDIA)
                            {
                                marked.store(true, Ordering::SeqCst);
                            }
                        }
                        Direction::Answers(slow, marked) => {
                            if marked.swap(false, Ordering::SeqCst) {
                                let by = slow.by.lock().unwrap().unwrap_or_default();
                                slow.held.fetch_add(1, Ordering::Relaxed);
                                thread::sleep(by);
                            }
                        }
                    }
                    if to.write_all(&buf[..n]).is_err() {
                        break;
                    }
                }
            }
        }
        let _ = to.shutdown(Shutdown::Both);
        let _ = from.shutdown(Shutdown::Both);
    });
}
