//! A TCP relay between the gateway and Asterisk's HTTP port, so a test can
//! cut the gateway's connections (its ARI events socket among them) the way a
//! network blip or a load balancer would, while Asterisk and the call go on.

use std::{
    io::{Read, Write},
    net::{Shutdown, SocketAddr, TcpListener, TcpStream},
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    thread,
};

pub(crate) struct Relay {
    addr: SocketAddr,
    /// Both ends of every open connection.
    open: Arc<Mutex<Vec<(TcpStream, TcpStream)>>>,
    stop: Arc<AtomicBool>,
    /// While set, new connections are closed at once (ARI unreachable).
    held: Arc<AtomicBool>,
}

impl Relay {
    /// Relays 127.0.0.1:<free port> to `upstream`.
    pub(crate) fn start(upstream: SocketAddr) -> Relay {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let open = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let held = Arc::new(AtomicBool::new(false));
        let (conns, stopped, holding) = (Arc::clone(&open), Arc::clone(&stop), Arc::clone(&held));
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
                pipe(client.try_clone().unwrap(), server.try_clone().unwrap());
                pipe(server, client);
            }
        });
        Relay {
            addr,
            open,
            stop,
            held,
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

/// Copies `from` to `to` until either side closes.
fn pipe(mut from: TcpStream, mut to: TcpStream) {
    thread::spawn(move || {
        let mut buf = [0u8; 16 * 1024];
        loop {
            match from.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
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
